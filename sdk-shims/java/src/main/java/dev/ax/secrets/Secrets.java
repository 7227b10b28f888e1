package dev.ax.secrets;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code ax.secrets()}: an execution's secrets, read by name. Implemented by the sidecar client
 * ({@link AxiomContext#secrets()}) and by the mock ({@link MockAxiomContext#secrets()}) alike;
 * every implementation is safe to share between threads.
 *
 * <p>The sidecar-backed one throws {@link SecretsUnavailableException} from every method when
 * the sidecar cannot be asked; a missing secret is never an exception.
 */
public interface Secrets {
    /**
     * The secret's value, or empty when there is no secret of that name. An empty value is
     * found: {@code Optional.of("")}. A string that is not a valid name ({@link Names}) is not
     * found and is never sent to the sidecar.
     *
     * @throws NullPointerException when {@code name} is null
     * @throws SecretsUnavailableException when the sidecar cannot be asked
     */
    Optional<String> get(String name);

    /**
     * Whether a secret of that name exists.
     *
     * @throws SecretsUnavailableException when the sidecar cannot be asked
     */
    default boolean exists(String name) {
        return get(name).isPresent();
    }

    /**
     * The metadata of every secret, sorted by name; never a value.
     *
     * @throws SecretsUnavailableException when the sidecar cannot be asked
     */
    List<SecretInfo> list();

    /**
     * The names of every secret, sorted.
     *
     * @throws SecretsUnavailableException when the sidecar cannot be asked
     */
    default List<String> names() {
        List<SecretInfo> infos = list();
        List<String> names = new ArrayList<>(infos.size());
        for (SecretInfo info : infos) {
            names.add(info.name());
        }
        return List.copyOf(names);
    }

    /**
     * Expands each {@code {{secrets.NAME}}} of {@code template} (whitespace allowed inside the
     * braces). References to missing secrets stay as written; {@link Rendered#missing()} names
     * them once each, in order of first appearance. A value is inserted as it is, never
     * expanded again.
     *
     * @throws IllegalArgumentException when {@code template} holds a lone surrogate
     * @throws RequestTooLargeException when the request would exceed 1 MiB (nothing is sent)
     * @throws SecretsUnavailableException when the sidecar cannot be asked
     */
    Rendered render(String template);

    /**
     * Replaces every secret value in {@code text}, and its base64, base64url, JSON-escaped and
     * percent-encoded forms, by {@code ***}; {@link Redacted#found()} names the secrets found,
     * sorted, each once.
     *
     * @throws IllegalArgumentException when {@code text} holds a lone surrogate
     * @throws RequestTooLargeException when the request would exceed 1 MiB (nothing is sent)
     * @throws SecretsUnavailableException when the sidecar cannot be asked
     */
    Redacted redact(String text);
}
