package dev.ax.secrets.wire;

/** Every limit and constant of protocol v2 that the shim relies on (PROTOCOL.md §9). */
public final class Limits {
    /** The protocol version this shim speaks, sent in {@code Hello}. */
    public static final int PROTOCOL_VERSION = 2;

    /** How this shim names itself in {@code Hello} (at most 256 bytes). */
    public static final String CLIENT_NAME = "java/0.1.0";

    /** Bytes in the big-endian length prefix of every frame. */
    public static final int FRAME_HEADER_LEN = 4;

    /** Largest request body, inclusive: 1 MiB (1 048 576 bytes). */
    public static final int MAX_REQUEST_BODY = 1024 * 1024;

    /** Largest response body, inclusive: 16 MiB (16 777 216 bytes). */
    public static final int MAX_RESPONSE_BODY = 16 * 1024 * 1024;

    /** Longest secret name, in bytes (names are ASCII, so also in characters). */
    public static final int MAX_NAME_LEN = 128;

    /** The shortest value, in bytes of its UTF-8, that is redacted (PROTOCOL §8.4): a shorter one such as `1` or `5432` would mask every such digit run of a log. */
    public static final int MIN_REDACTED_LEN = 4;

    /** What stands for a secret in redacted text. */
    public static final String REDACTION_MARK = "***";

    /** Environment variable holding the sidecar's socket path. */
    public static final String SOCKET_ENV = "AX_SECRETS_SOCKET";

    /** Environment variable holding the client token (unset or empty: no token). */
    public static final String TOKEN_ENV = "AX_SECRETS_TOKEN";

    /**
     * The longest socket path, in bytes of its UTF-8, that a Unix socket address holds: a
     * {@code sockaddr_un} has room for 108 bytes with the closing NUL.
     */
    public static final int MAX_SOCKET_PATH = 107;

    /**
     * The id of every {@code Hello}: nonzero, so that an {@code Unauthorized} under it (the
     * token) is told from one with id 0 (the uid, refused before the Hello was read).
     */
    public static final long HELLO_ID = 1;

    /** The largest value a {@code u32} varint holds. */
    public static final long U32_MAX = 0xFFFF_FFFFL;

    private Limits() {}
}
