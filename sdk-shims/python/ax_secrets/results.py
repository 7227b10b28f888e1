"""What the secrets API returns, and the interface the real client and the mock share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, NamedTuple, Optional, Tuple

try:  # Python 3.8+
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore[assignment,misc]


@dataclass(frozen=True)
class SecretInfo:
    """Metadata of one secret; never its value.

    An override and a tenant value look the same: node code cannot tell them apart (operators
    see overrides in the console).

    Attributes:
        name: The secret's name.
        version: Counts replacements in the console (1 for the first value).
        updated_at: When the current value was set, in seconds since the Unix epoch (UTC).
    """

    name: str
    version: int
    updated_at: int


class Rendered(NamedTuple):
    """A rendered template: the text, and the names referenced but not found (in order).

    ``repr`` leaves the text out: it holds secret values.
    """

    text: str
    missing: List[str]

    def __repr__(self) -> str:
        return f"Rendered(text=[redacted], missing={self.missing!r})"


class Redacted(NamedTuple):
    """A redacted text (every value replaced by ``***``) and the names found, sorted."""

    text: str
    found: List[str]


class SecretsApi(Protocol):
    """``ax.secrets``: implemented by the sidecar client and by the mock alike."""

    def get(self, name: str) -> Tuple[str, bool]:
        """``(value, True)`` for a secret, ``("", False)`` when there is none."""
        ...

    def exists(self, name: str) -> bool:
        """Whether the secret exists."""
        ...

    def render(self, template: str) -> Rendered:
        """Expands ``{{secrets.NAME}}`` references."""
        ...

    def redact(self, text: str) -> Redacted:
        """Replaces every secret value, and its common encodings, by ``***``."""
        ...

    def list(self) -> List[SecretInfo]:
        """Every secret's metadata, sorted by name."""
        ...
