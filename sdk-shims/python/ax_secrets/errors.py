"""The shim's errors, and every message a user of the shim can see.

No message ever holds a secret value, a token, a template or a text to redact: only socket
paths, names of request kinds, error codes and sizes.
"""

from __future__ import annotations

from typing import Optional


class SecretsUnavailableError(Exception):
    """The sidecar could not be asked: a transport failure, never "secret not found".

    Raised when ``AX_SECRETS_SOCKET`` is unset or too long, nothing listens at the path, the
    sidecar refuses this process's uid or the client token, is busy or shutting down, the
    connection breaks while a request is in flight, or the sidecar answers with something the
    shim cannot accept.

    Attributes:
        socket_path: The socket the shim tried to reach (``None`` when none was configured).
        code: The protocol error code the sidecar answered with, when it answered with one.
    """

    def __init__(
        self, socket_path: Optional[str], message: str, code: Optional[str] = None
    ) -> None:
        super().__init__(message)
        self.socket_path = socket_path
        self.code = code


class RequestTooLargeError(ValueError):
    """An argument would make a request over the 1 MiB request limit; nothing was sent."""


class WireError(Exception):
    """Bytes that are not a valid frame or message (PROTOCOL §2, §4).

    ``kind`` is the name the shared vectors use: ``FrameTooLarge``, ``Truncated``,
    ``UnexpectedEnd``, ``TrailingBytes``, ``UnknownVariant``, ``InvalidUtf8``,
    ``InvalidOptionTag``, ``InvalidVarint`` or ``MessageTooLarge``.
    """

    def __init__(self, kind: str) -> None:
        super().__init__(WIRE_MESSAGES.get(kind, "malformed message"))
        self.kind = kind


WIRE_MESSAGES = {
    "FrameTooLarge": "frame length exceeds the limit",
    "Truncated": "stream ended inside a frame",
    "UnexpectedEnd": "frame ended before the message did",
    "TrailingBytes": "bytes left in the frame after the message",
    "UnknownVariant": "unknown enum variant for this protocol version",
    "InvalidUtf8": "string is not valid UTF-8",
    "InvalidOptionTag": "option tag is neither 0 nor 1",
    "InvalidVarint": "varint is too long or overflows its type",
    "MessageTooLarge": "message would exceed the frame limit",
}

PREFIX = "ax-secrets: "


def no_socket_configured(env_name: str) -> str:
    return (
        f"{PREFIX}{env_name} is not set, so there is no sidecar to ask "
        "(in tests, use MockAxiomContext)"
    )


def at(path: str, what: str) -> str:
    """A message about the sidecar at ``path``."""
    return f"{PREFIX}the sidecar at {path} {what}"


def socket_path_too_long(path: str, size: int, limit: int) -> str:
    return f"{PREFIX}socket path {path} is {size} bytes; a Unix socket path holds at most {limit}"


CANNOT_CONNECT = "cannot be reached ({reason})"
TOKEN_REFUSED = "refused the client token"
UID_REFUSED = "refused this process's uid {uid} (not allowed to connect)"
BUSY = "is at its connection cap (error Busy); try again after a pause"
HANDSHAKE_REFUSED = "refused the handshake with error {code}"
WRONG_VERSION = "speaks protocol version {version}, not {ours}"
NOT_SERVED_TWICE = "did not serve the request, twice in a row (error {code})"
CLOSED_MID_REQUEST = "closed the connection before answering {kind} ({reason}); it was not resent"
CLOSED_RESENT = "closed the connection before answering {kind} ({reason}), also when resent"
ID_MISMATCH = "answered request {sent} with id {received}; the connection was dropped"
MALFORMED = "sent a malformed response ({reason}); the connection was dropped"
UNEXPECTED_ANSWER = "answered {kind} with {answer}; the connection was dropped"
ERROR_ANSWER = "refused {kind} with error {code}"
TIMED_OUT = "did not answer {kind} within {seconds} s; the connection was dropped"


def request_too_large(kind: str, size: int, limit: int) -> str:
    return (
        f"{PREFIX}this {kind} request would be {size} bytes, over the request limit of "
        f"{limit} bytes (1 MiB); nothing was sent"
    )
