package dev.ax.secrets;

import dev.ax.secrets.wire.Limits;
import java.util.Map;
import java.util.Objects;

/**
 * The execution context node code receives as {@code ax}, backed by the execution's sidecar.
 *
 * <pre>{@code
 * try (AxiomContext ax = new AxiomContext()) {
 *     String key = ax.secrets().get("OPENAI_API_KEY").orElseThrow();
 *     boolean hasDb = ax.secrets().exists("DB_URL");
 *     Rendered url = ax.secrets().render("postgres://app:{{secrets.DB_PASSWORD}}@db/app");
 *     String safe = ax.secrets().redact(logLine).text();
 * }
 * }</pre>
 *
 * <p>Connects lazily, on the first call, then does the handshake once and reuses the
 * connection for every call; a connection the sidecar closed (idle timeout, restart) is
 * replaced once, transparently. Safe to share between threads: one request is in flight at a
 * time. Calls block until the sidecar answers (there is no timeout: the sidecar answers or
 * closes). {@link #close()} closes the connection; a later call connects again.
 */
public final class AxiomContext implements AxContext {
    private final SidecarClient client;
    private final SidecarSecrets secrets;

    /**
     * A context for the sidecar at {@code $AX_SECRETS_SOCKET}, with the client token in
     * {@code $AX_SECRETS_TOKEN} (unset or empty: none). Nothing is checked or connected until
     * the first call: with {@code AX_SECRETS_SOCKET} unset, every call throws
     * {@link SecretsUnavailableException}.
     */
    public AxiomContext() {
        this(System.getenv());
    }

    /**
     * A context for the sidecar at {@code socketPath} with {@code token} ({@code null} or
     * empty: none); the environment is not read.
     *
     * @throws IllegalArgumentException when the token holds a lone surrogate
     */
    public AxiomContext(String socketPath, String token) {
        this(new SidecarClient(Objects.requireNonNull(socketPath, "socketPath"), token));
    }

    /** A context configured from {@code environment} as the no-argument one is from the process's. */
    static AxiomContext fromEnvironment(Map<String, String> environment) {
        return new AxiomContext(environment);
    }

    private AxiomContext(Map<String, String> environment) {
        this(new SidecarClient(emptyToNull(environment.get(Limits.SOCKET_ENV)),
                environment.get(Limits.TOKEN_ENV)));
    }

    private AxiomContext(SidecarClient client) {
        this.client = client;
        this.secrets = new SidecarSecrets(client);
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    @Override
    public Secrets secrets() {
        return secrets;
    }

    /** The sidecar's socket path; {@code null} when {@code AX_SECRETS_SOCKET} was unset. */
    public String socketPath() {
        return client.socketPath();
    }

    /** Closes the connection to the sidecar (a later call reconnects). */
    @Override
    public void close() {
        client.close();
    }

    @Override
    public String toString() {
        return "AxiomContext[socket=" + client.socketPath() + "]";
    }
}
