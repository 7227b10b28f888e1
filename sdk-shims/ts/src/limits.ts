/** Every limit and constant of protocol v2 that the shim relies on (PROTOCOL.md §9). */

/** The protocol version this shim speaks, sent in `Hello`. */
export const PROTOCOL_VERSION = 2;

/** How this shim names itself in `Hello` (at most 256 bytes). */
export const CLIENT_NAME = "ts/0.1.0";

/** Bytes in the big-endian length prefix of every frame. */
export const FRAME_HEADER_LEN = 4;

/** Largest request body, inclusive: 1 MiB. */
export const MAX_REQUEST_FRAME = 1024 * 1024;

/** Largest response body, inclusive: 16 MiB. */
export const MAX_RESPONSE_FRAME = 16 * 1024 * 1024;

/** Longest client token in bytes (`Hello.token`). */
export const MAX_TOKEN_LEN = 4096;

/** Longest secret name in bytes. */
export const MAX_NAME_LEN = 128;

/** Largest request id; ids wrap around to 1 (0 is never sent: it is the sidecar's own). */
export const MAX_REQUEST_ID = 0xffff_ffff;

/** The shortest value, in bytes of its UTF-8, that is redacted (PROTOCOL §8.4): a shorter one such as `1` or `5432` would mask every such digit run of a log. */
export const MIN_REDACTED_LEN = 4;

/** What stands for a secret in redacted text. */
export const REDACTION_MARK = "***";

/**
 * The request id of every `Hello`: nonzero, so that an `Unauthorized` under id 0 (sent before
 * the Hello was read: the uid) is told apart from one under this id (the token).
 */
export const HELLO_ID = 1;

/** Longest socket path, in bytes of its UTF-8: a `sockaddr_un` holds 108 with the closing NUL. */
export const MAX_SOCKET_PATH = 107;

/** Environment variable holding the sidecar's socket path. */
export const SOCKET_ENV = "AX_SECRETS_SOCKET";

/** Environment variable holding the client token (unset or empty: no token). */
export const TOKEN_ENV = "AX_SECRETS_TOKEN";
