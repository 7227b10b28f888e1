package dev.ax.secrets;

import java.util.List;
import java.util.Objects;

/**
 * A rendered template.
 *
 * <p>{@code toString} leaves the text out: it holds secret values.
 *
 * @param text the template with every reference to a found secret replaced by its value
 * @param missing the names referenced but not found, each once, in order of first appearance
 */
public record Rendered(String text, List<String> missing) {
    /** Copies {@code missing}. */
    public Rendered {
        Objects.requireNonNull(text, "text");
        missing = List.copyOf(missing);
    }

    @Override
    public String toString() {
        return "Rendered[text=[redacted], missing=" + missing + "]";
    }
}
