package dev.ax.secrets;

import java.util.Map;

/**
 * A stand-in for {@link AxiomContext} in node authors' unit tests: no sidecar, no socket.
 *
 * <pre>{@code
 * AxContext ax = MockAxiomContext.of(Map.of("GREETER_SIGNATURE", "test-sig"));
 * ax.secrets().get("GREETER_SIGNATURE");   // Optional[test-sig]
 * ax.secrets().get("MISSING");             // Optional.empty
 * }</pre>
 *
 * @see MockSecrets for what it answers
 */
public final class MockAxiomContext implements AxContext {
    private final MockSecrets secrets;

    /**
     * A context whose secrets are {@code secretsMap} (copied).
     *
     * @throws IllegalArgumentException when a key is not a valid secret name
     */
    public MockAxiomContext(Map<String, String> secretsMap) {
        secrets = new MockSecrets(secretsMap);
    }

    /** The same as {@code new MockAxiomContext(secretsMap)}. */
    public static MockAxiomContext of(Map<String, String> secretsMap) {
        return new MockAxiomContext(secretsMap);
    }

    @Override
    public MockSecrets secrets() {
        return secrets;
    }

    /** Does nothing: there is no connection. */
    @Override
    public void close() {}

    @Override
    public String toString() {
        return "MockAxiomContext[]";
    }
}
