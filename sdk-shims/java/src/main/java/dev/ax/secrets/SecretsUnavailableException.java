package dev.ax.secrets;

import java.util.Optional;

/**
 * The sidecar could not be asked: a transport failure, never "secret not found".
 *
 * <p>Thrown when {@code AX_SECRETS_SOCKET} is unset, nothing listens at the path, the sidecar
 * refuses the client token, the connection breaks while a request is in flight, or the sidecar
 * answers with something the shim cannot accept. The message names the socket path and what
 * happened; it never holds a value, a token, a template or a text.
 */
public class SecretsUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String socketPath;
    private final ErrorCode code;

    /**
     * An exception about the sidecar at {@code socketPath} ({@code null}: none configured).
     *
     * @param code the error code the sidecar answered with, or {@code null}
     */
    public SecretsUnavailableException(String socketPath, String message, ErrorCode code) {
        super(message);
        this.socketPath = socketPath;
        this.code = code;
    }

    /** The socket the shim tried to reach; empty when none was configured. */
    public Optional<String> socketPath() {
        return Optional.ofNullable(socketPath);
    }

    /** The protocol error code the sidecar answered with, when it answered with one. */
    public Optional<ErrorCode> code() {
        return Optional.ofNullable(code);
    }
}
