package dev.ax.secrets;

import java.util.List;
import java.util.Objects;

/**
 * A redacted text.
 *
 * <p>{@code toString} gives only the text's length: the text came from node code and may hold
 * what no redaction form covers.
 *
 * @param text the text with every secret value, in every form, replaced by {@code ***}
 * @param found the names of the secrets found, sorted, each once
 */
public record Redacted(String text, List<String> found) {
    /** Copies {@code found}. */
    public Redacted {
        Objects.requireNonNull(text, "text");
        found = List.copyOf(found);
    }

    @Override
    public String toString() {
        return "Redacted[text=(" + text.length() + " chars), found=" + found + "]";
    }
}
