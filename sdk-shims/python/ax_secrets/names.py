"""The secret-name rule (PROTOCOL §8.1): ``^[A-Za-z][A-Za-z0-9_]{0,127}$``, case-sensitive.

A string that breaks the rule is "not found" without a round trip: it may be a value pasted by
mistake, and it never leaves the process.
"""

from __future__ import annotations

import re
from typing import Optional

from .limits import MAX_NAME_LEN

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")
_fullmatch = _NAME.fullmatch


def is_valid_name(name: str) -> bool:
    """Whether ``name`` is a valid secret name."""
    return _fullmatch(name) is not None


def name_problem(name: str) -> Optional[str]:
    """What is wrong with ``name``, named as in ``names.json``, or ``None`` when it is valid.

    One of ``Empty``, ``TooLong``, ``BadFirstCharacter`` and ``BadCharacter``, checked in that
    order (as the reference implementation does).
    """
    if not name:
        return "Empty"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_LEN:
        return "TooLong"
    first = name[0]
    if not (first.isascii() and first.isalpha()):
        return "BadFirstCharacter"
    if any(_NAME_CHAR.fullmatch(c) is None for c in name):
        return "BadCharacter"
    return None
