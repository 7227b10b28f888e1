"""The redaction engine of the mock, matching the sidecar's (PROTOCOL §8.4).

Every form of every non-empty value is matched at once, leftmost-longest, without overlaps.
Python's ``re`` takes the first alternative that matches at the leftmost position, so an
alternation of the literal forms sorted longest first is a leftmost-longest matcher. Matching
code points of a ``str`` finds the same matches as the sidecar's matching of UTF-8 bytes: a
valid UTF-8 pattern can only match a valid UTF-8 text at character boundaries.
"""

from __future__ import annotations

import re
from typing import Dict, List, Mapping, Optional, Pattern, Set, Tuple

from .encodings import forms
from .limits import MIN_REDACTED_LEN, REDACTION_MARK


class Redactor:
    """A compiled matcher for one fixed map of names to values."""

    __slots__ = ("_owners", "_pattern")

    def __init__(self, secrets: Mapping[str, str]) -> None:
        owners: Dict[str, Set[str]] = {}
        for name, value in secrets.items():
            if len(value.encode("utf-8")) >= MIN_REDACTED_LEN:
                for form in forms(value):
                    owners.setdefault(form, set()).add(name)
        self._owners = {form: sorted(names) for form, names in owners.items()}
        self._pattern: Optional[Pattern[str]] = None
        if owners:
            ordered = sorted(owners, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered)))

    def __repr__(self) -> str:
        return f"Redactor(patterns={len(self._owners)})"

    def redact(self, text: str) -> Tuple[str, List[str]]:
        """``text`` with every match replaced by ``***``, and the names found (sorted, once)."""
        if self._pattern is None:
            return text, []
        found: Set[str] = set()
        owners = self._owners

        def mark(match: "re.Match[str]") -> str:
            found.update(owners[match.group(0)])
            return REDACTION_MARK

        redacted = self._pattern.sub(mark, text)
        return redacted, sorted(found, key=lambda n: n.encode("utf-8"))
