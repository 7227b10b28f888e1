"""Every limit and constant of protocol v2 that the shim relies on (PROTOCOL.md §9)."""

from __future__ import annotations

#: The protocol version this shim speaks, sent in ``Hello``.
PROTOCOL_VERSION = 2

#: How this shim names itself in ``Hello`` (at most 256 bytes).
CLIENT_NAME = "python/0.1.0"

#: Bytes in the big-endian length prefix of every frame.
FRAME_HEADER_LEN = 4

#: Largest request body, inclusive: 1 MiB.
MAX_REQUEST_FRAME = 1024 * 1024

#: Largest response body, inclusive: 16 MiB.
MAX_RESPONSE_FRAME = 16 * 1024 * 1024

#: Longest secret name in bytes.
MAX_NAME_LEN = 128

#: The shortest value, in bytes of its UTF-8, that is redacted (PROTOCOL §8.4): a shorter one such as `1` or `5432` would mask every such digit run of a log.
MIN_REDACTED_LEN = 4

#: What stands for a secret in redacted text.
REDACTION_MARK = "***"

#: Longest socket path, in bytes of its UTF-8: a ``sockaddr_un`` holds 108 with the closing NUL.
MAX_SOCKET_PATH = 107

#: The request id of every ``Hello``: nonzero, so that an ``Unauthorized`` under id 0 (sent
#: before the Hello was read: the uid) is told apart from one under this id (the token).
HELLO_ID = 1

#: Environment variable holding the sidecar's socket path.
SOCKET_ENV = "AX_SECRETS_SOCKET"

#: Environment variable holding the client token (unset or empty: no token).
TOKEN_ENV = "AX_SECRETS_TOKEN"
