"""The protocol v2 messages (PROTOCOL §3, §5, §6) as plain immutable Python values.

Enum order is the wire format: ``REQUEST_TYPES`` and ``RESPONSE_TYPES`` list the variants in
tag order. Fields that may hold a secret value, a token or text supplied by node code are left
out of ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple, Union

ERROR_CODES: Tuple[str, ...] = (
    "BadRequest",
    "UnsupportedVersion",
    "Unauthorized",
    "TooLarge",
    "ShuttingDown",
    "Internal",
    "HandshakeRequired",
    "Busy",
)
"""Every ``ErrorCode`` of v2, in tag order."""


@dataclass(frozen=True)
class HelloRequest:
    """Tag 0: the handshake, the first request on every connection."""

    version: int
    client: str
    token: Optional[str] = field(default=None, repr=False)


@dataclass(frozen=True)
class GetRequest:
    """Tag 1: one secret by name."""

    name: str


@dataclass(frozen=True)
class ListRequest:
    """Tag 2: the metadata of every secret."""


@dataclass(frozen=True)
class RenderRequest:
    """Tag 3: expand ``{{secrets.NAME}}`` references."""

    template: str = field(repr=False)


@dataclass(frozen=True)
class RedactRequest:
    """Tag 4: replace every value in a text with ``***``."""

    text: str = field(repr=False)


@dataclass(frozen=True)
class PingRequest:
    """Tag 5: liveness check."""


RequestBody = Union[
    HelloRequest, GetRequest, ListRequest, RenderRequest, RedactRequest, PingRequest
]
REQUEST_TYPES = (HelloRequest, GetRequest, ListRequest, RenderRequest, RedactRequest, PingRequest)


@dataclass(frozen=True)
class Request:
    """A request: a client-chosen ``id`` (u32) the response echoes, and its body."""

    id: int
    body: RequestBody


@dataclass(frozen=True)
class WireSecretInfo:
    """A ``SecretInfo`` as on the wire; nothing in it tells an override from a tenant value."""

    name: str
    version: int
    updated_at: int


@dataclass(frozen=True)
class HelloResponse:
    """Tag 0: the handshake was accepted."""

    version: int
    sidecar: str
    execution_id: str


@dataclass(frozen=True)
class SecretResponse:
    """Tag 1: the answer to ``Get``; ``None`` means not found, ``""`` is a found empty value."""

    value: Optional[str] = field(repr=False)


@dataclass(frozen=True)
class ListResponse:
    """Tag 2: the answer to ``List``, sorted by name."""

    secrets: List[WireSecretInfo]


@dataclass(frozen=True)
class RenderedResponse:
    """Tag 3: the answer to ``Render``."""

    text: str = field(repr=False)
    missing: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class RedactedResponse:
    """Tag 4: the answer to ``Redact``."""

    text: str
    found: List[str]


@dataclass(frozen=True)
class PongResponse:
    """Tag 5: the answer to ``Ping``."""


@dataclass(frozen=True)
class ErrorResponse:
    """Tag 6: a refused request; ``code`` is one of :data:`ERROR_CODES`."""

    code: str
    message: str


ResponseBody = Union[
    HelloResponse,
    SecretResponse,
    ListResponse,
    RenderedResponse,
    RedactedResponse,
    PongResponse,
    ErrorResponse,
]
RESPONSE_TYPES = (
    HelloResponse,
    SecretResponse,
    ListResponse,
    RenderedResponse,
    RedactedResponse,
    PongResponse,
    ErrorResponse,
)


@dataclass(frozen=True)
class Response:
    """A response: the ``id`` of the request it answers, and its body."""

    id: int
    body: ResponseBody
