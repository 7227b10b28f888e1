"""``MockAxiomContext``: the secrets API over an in-memory map, for node authors' unit tests.

It answers exactly as a sidecar serving those values would: the same name rule, the same
template rules (PROTOCOL §8.3) and the same redaction forms and matching (§8.4). ``list``
reports every secret as version 1, updated at 0.
"""

from __future__ import annotations

from types import TracebackType
from typing import Dict, List, Mapping, Optional, Tuple, Type

from .names import is_valid_name, name_problem
from .redact import Redactor
from .results import Redacted, Rendered, SecretInfo
from .template import render


class MockSecrets:
    """``ax.secrets`` over a fixed map of names to values. Safe to share between threads."""

    __slots__ = ("_redactor", "_values")

    def __init__(self, secrets_map: Mapping[str, str]) -> None:
        values: Dict[str, str] = {}
        for name, value in secrets_map.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError("secrets_map must map str names to str values")
            problem = name_problem(name)
            if problem is not None:
                # The key is not shown: a string that is not a name may be a value.
                raise ValueError(f"secrets_map holds a key that is not a secret name ({problem})")
            values[name] = value
        self._values = values
        self._redactor: Optional[Redactor] = None

    def __repr__(self) -> str:
        return f"MockSecrets(names={sorted(self._values)!r})"

    def get(self, name: str) -> Tuple[str, bool]:
        """``(value, True)``, or ``("", False)`` when the map has no such (valid) name."""
        if not isinstance(name, str):
            raise TypeError(f"a secret name must be str, not {type(name).__name__}")
        value = self._values.get(name) if is_valid_name(name) else None
        return ("", False) if value is None else (value, True)

    def exists(self, name: str) -> bool:
        """Whether the map has a secret of that name."""
        return self.get(name)[1]

    def render(self, template: str) -> Rendered:
        """Expands ``{{secrets.NAME}}`` references as the sidecar does."""
        if not isinstance(template, str):
            raise TypeError(f"template must be str, not {type(template).__name__}")
        text, missing = render(template, self._values.get)
        return Rendered(text, missing)

    def redact(self, text: str) -> Redacted:
        """Replaces every value, and its encodings, by ``***``, as the sidecar does."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        redactor = self._redactor
        if redactor is None:
            # Built on first use, like the sidecar's; a race only builds it twice.
            redactor = self._redactor = Redactor(self._values)
        redacted, found = redactor.redact(text)
        return Redacted(redacted, found)

    def list(self) -> List[SecretInfo]:
        """Every name, sorted, as version 1, updated at 0."""
        return [SecretInfo(name, 1, 0) for name in sorted(self._values)]


class MockAxiomContext:
    """A stand-in for :class:`~ax_secrets.AxiomContext` in tests: no sidecar, no socket.

    >>> ax = MockAxiomContext(secrets_map={"GREETER_SIGNATURE": "test-sig"})
    >>> ax.secrets.get("GREETER_SIGNATURE")
    ('test-sig', True)
    >>> ax.secrets.get("MISSING")
    ('', False)
    """

    __slots__ = ("secrets",)

    def __init__(self, secrets_map: Optional[Mapping[str, str]] = None) -> None:
        self.secrets = MockSecrets(secrets_map or {})

    def __repr__(self) -> str:
        return "MockAxiomContext()"

    def close(self) -> None:
        """Does nothing (there is no connection)."""

    def __enter__(self) -> MockAxiomContext:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()
