package dev.ax.secrets.wire;

/** Bytes that are not a valid frame or message; {@link #error()} says why. */
public final class WireException extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient WireError error;

    /** A failure of the given kind. */
    public WireException(WireError error) {
        super(error.vectorName() + ": " + error.description());
        this.error = error;
    }

    /** Why the bytes were refused. */
    public WireError error() {
        return error;
    }
}
