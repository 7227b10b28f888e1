package dev.ax.secrets.wire;

/**
 * Why bytes are not a valid frame or message (PROTOCOL.md §2, §4). {@link #vectorName()} is the
 * name the shared vectors use in their {@code error} field.
 */
public enum WireError {
    /** The length prefix announces more than the limit (checked before reading the body). */
    FRAME_TOO_LARGE("FrameTooLarge", "frame length exceeds the limit"),
    /** The stream ended inside a frame. */
    TRUNCATED("Truncated", "stream ended inside a frame"),
    /** The body ended before the message did (a zero-length body included). */
    UNEXPECTED_END("UnexpectedEnd", "frame ended before the message did"),
    /** Bytes were left in the body after the message. */
    TRAILING_BYTES("TrailingBytes", "bytes left in the frame after the message"),
    /** An enum tag this protocol version does not define. */
    UNKNOWN_VARIANT("UnknownVariant", "unknown enum variant for this protocol version"),
    /** A string that is not valid UTF-8. */
    INVALID_UTF8("InvalidUtf8", "string is not valid UTF-8"),
    /** An option tag other than 0 and 1. */
    INVALID_OPTION_TAG("InvalidOptionTag", "option tag is neither 0 nor 1"),
    /** A varint longer than its type allows, or overflowing it. */
    INVALID_VARINT("InvalidVarint", "varint is too long or overflows its type");

    private final String vectorName;
    private final String description;

    WireError(String vectorName, String description) {
        this.vectorName = vectorName;
        this.description = description;
    }

    /** The name of this error in the shared vectors, e.g. {@code "InvalidVarint"}. */
    public String vectorName() {
        return vectorName;
    }

    /** A short description for messages. */
    public String description() {
        return description;
    }
}
