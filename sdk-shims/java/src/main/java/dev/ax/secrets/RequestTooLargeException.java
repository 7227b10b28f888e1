package dev.ax.secrets;

/** An argument would make a request over the 1 MiB request limit; nothing was sent. */
public class RequestTooLargeException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** With a message that gives sizes only. */
    public RequestTooLargeException(String message) {
        super(message);
    }
}
