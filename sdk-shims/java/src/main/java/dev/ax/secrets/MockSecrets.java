package dev.ax.secrets;

import dev.ax.secrets.wire.Utf8;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * {@code ax.secrets()} over a fixed map of names to values, for node authors' unit tests.
 * Safe to share between threads.
 *
 * <p>It answers exactly as a sidecar serving those values would: the same name rule, the same
 * template rules (PROTOCOL.md §8.3) and the same redaction forms and matching (§8.4).
 * {@link #list()} reports every secret as version 1, updated at 0.
 */
public final class MockSecrets implements Secrets {
    private final Map<String, String> values;
    private volatile Redactor redactor;

    /**
     * The secrets of {@code secretsMap} (copied).
     *
     * @throws IllegalArgumentException when a key is not a valid secret name, or a value holds
     *     a lone surrogate (no sidecar could serve either); the message never shows a value
     * @throws NullPointerException when a key or value is null
     */
    public MockSecrets(Map<String, String> secretsMap) {
        Map<String, String> copy = new TreeMap<>();
        for (Map.Entry<String, String> entry : secretsMap.entrySet()) {
            String name = Objects.requireNonNull(entry.getKey(), "a secret name");
            String value = Objects.requireNonNull(entry.getValue(), "a secret value");
            Optional<Names.Problem> problem = Names.problem(name);
            if (problem.isPresent()) {
                throw new IllegalArgumentException(
                        Messages.mockKeyNotAName(problem.get().vectorName()));
            }
            int lone = Utf8.firstLoneSurrogate(value);
            if (lone >= 0) {
                throw new IllegalArgumentException(Messages.mockValueNotUnicode(name, lone));
            }
            copy.put(name, value);
        }
        values = copy;
    }

    @Override
    public Optional<String> get(String name) {
        Objects.requireNonNull(name, "name");
        return Names.isValid(name) ? Optional.ofNullable(values.get(name)) : Optional.empty();
    }

    @Override
    public List<SecretInfo> list() {
        List<SecretInfo> out = new ArrayList<>(values.size());
        for (String name : values.keySet()) { // a TreeMap: sorted, and names are ASCII
            out.add(new SecretInfo(name, 1, 0));
        }
        return List.copyOf(out);
    }

    @Override
    public Rendered render(String template) {
        Objects.requireNonNull(template, "template");
        Arguments.requireUnicode(template, "template");
        return Templates.render(template, values::get);
    }

    @Override
    public Redacted redact(String text) {
        Objects.requireNonNull(text, "text");
        Arguments.requireUnicode(text, "text");
        Redactor r = redactor;
        if (r == null) {
            // Built on first use, like the sidecar's; a race only builds it twice.
            r = new Redactor(values);
            redactor = r;
        }
        return r.redact(text);
    }

    @Override
    public String toString() {
        return "MockSecrets[names=" + values.keySet() + "]";
    }
}
