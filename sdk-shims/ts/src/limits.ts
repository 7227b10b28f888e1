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

/** Largest request id; ids wrap around to 1 (0 is the handshake's). */
export const MAX_REQUEST_ID = 0xffff_ffff;

/** The shortest value, in bytes of its UTF-8, that is redacted (PROTOCOL §8.4): a shorter one such as `1` or `5432` would mask every such digit run of a log. */
export const MIN_REDACTED_LEN = 4;

/** What stands for a secret in redacted text. */
export const REDACTION_MARK = "***";

/** Environment variable holding the sidecar's socket path. */
export const SOCKET_ENV = "AX_SECRETS_SOCKET";

/** Environment variable holding the client token (unset or empty: no token). */
export const TOKEN_ENV = "AX_SECRETS_TOKEN";
