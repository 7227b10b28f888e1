/**
 * Read a flow execution's secrets from its {@code ax-sidecar}.
 *
 * <pre>{@code
 * try (AxiomContext ax = new AxiomContext()) {            // AX_SECRETS_SOCKET, AX_SECRETS_TOKEN
 *     Optional<String> key = ax.secrets().get("OPENAI_API_KEY");
 * }
 * }</pre>
 *
 * <p>{@link AxiomContext} talks to the sidecar; {@link MockAxiomContext} answers from a map,
 * for node authors' unit tests. Both are {@link AxContext}s, whose {@link Secrets} behave alike.
 * A missing secret is never an exception; a sidecar that cannot be asked is an unchecked
 * {@link SecretsUnavailableException}. No {@code toString} and no exception message ever holds a
 * secret value, a token, a template or a text.
 */
package dev.ax.secrets;
