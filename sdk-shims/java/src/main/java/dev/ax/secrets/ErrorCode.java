package dev.ax.secrets;

/**
 * The error codes a sidecar answers with (PROTOCOL.md §6.6), in wire tag order: the order is
 * the wire format, never change it.
 */
public enum ErrorCode {
    /** The frame or message was malformed; the sidecar closed the connection. */
    BAD_REQUEST("BadRequest"),
    /** The {@code Hello} version is not one the sidecar speaks. */
    UNSUPPORTED_VERSION("UnsupportedVersion"),
    /** The client token is missing or wrong, or this process's uid is not allowed. */
    UNAUTHORIZED("Unauthorized"),
    /** A request over the limit, or a response that would exceed the response limit. */
    TOO_LARGE("TooLarge"),
    /** The sidecar is stopping; the request was not served. */
    SHUTTING_DOWN("ShuttingDown"),
    /** The sidecar failed to serve this one request. */
    INTERNAL("Internal"),
    /** A request other than {@code Hello} came first, or a second {@code Hello} came. */
    HANDSHAKE_REQUIRED("HandshakeRequired"),
    /** The sidecar is at its connection limit. */
    BUSY("Busy");

    private static final ErrorCode[] BY_TAG = values();

    private final String wireName;

    ErrorCode(String wireName) {
        this.wireName = wireName;
    }

    /** The code's name in PROTOCOL.md and the vectors, e.g. {@code "BadRequest"}. */
    public String wireName() {
        return wireName;
    }

    /** The wire tag. */
    public int tag() {
        return ordinal();
    }

    /** How many codes protocol v2 defines. */
    public static int count() {
        return BY_TAG.length;
    }

    /** The code with wire tag {@code tag} (below {@link #count()}). */
    public static ErrorCode fromTag(int tag) {
        return BY_TAG[tag];
    }

    /** The code named {@code wireName}, e.g. {@code "Busy"}. */
    public static ErrorCode fromWireName(String wireName) {
        for (ErrorCode code : BY_TAG) {
            if (code.wireName.equals(wireName)) {
                return code;
            }
        }
        throw new IllegalArgumentException("not an error code of protocol v2: " + wireName);
    }
}
