package dev.ax.secrets;

import dev.ax.secrets.wire.Limits;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * {@code {{secrets.NAME}}} templates (PROTOCOL.md §8.3), exactly as the sidecar renders them.
 *
 * <p>A reference is {@code {{}, optional whitespace (space, tab, CR, LF), {@code secrets.}, a
 * valid name (the longest run of name characters), optional whitespace, {@code }}}. Anything
 * else is literal text; there is no escape syntax. At each {@code {{} that does not start a
 * reference, the first {@code {} is text and scanning goes on at the next character, so
 * {@code {{{secrets.A}}}} is {@code {}, a reference, {@code }}. Rendering is one pass: a value
 * holding {@code {{secrets.X}}} is inserted as it is, never expanded.
 */
final class Templates {
    private Templates() {}

    private static final String KEYWORD = "secrets.";

    /** A piece of a template: literal text, or a reference. */
    sealed interface Segment {}

    /** Literal text. */
    record Text(String text) implements Segment {}

    /** A reference to secret {@code name}, written as {@code raw}. */
    record Reference(String name, String raw) implements Segment {}

    /** Splits {@code template} into text and references, in order, adjacent text joined. */
    static List<Segment> segments(String template) {
        List<Segment> out = new ArrayList<>();
        int textStart = 0;
        int i = template.indexOf("{{");
        while (i >= 0) {
            int end = referenceEnd(template, i);
            if (end < 0) {
                i = template.indexOf("{{", i + 1);
                continue;
            }
            if (i > textStart) {
                out.add(new Text(template.substring(textStart, i)));
            }
            String raw = template.substring(i, end);
            out.add(new Reference(nameOf(raw), raw));
            textStart = end;
            i = template.indexOf("{{", end);
        }
        if (textStart < template.length()) {
            out.add(new Text(template.substring(textStart)));
        }
        return out;
    }

    /**
     * Renders {@code template}, resolving each name with {@code lookup} ({@code null}: not
     * found). A reference to a missing name stays exactly as written.
     */
    static Rendered render(String template, Function<String, String> lookup) {
        StringBuilder text = new StringBuilder(template.length());
        Set<String> missing = new LinkedHashSet<>();
        for (Segment segment : segments(template)) {
            if (segment instanceof Text t) {
                text.append(t.text());
            } else if (segment instanceof Reference r) {
                String value = lookup.apply(r.name());
                if (value == null) {
                    text.append(r.raw());
                    missing.add(r.name());
                } else {
                    text.append(value);
                }
            }
        }
        return new Rendered(text.toString(), new ArrayList<>(missing));
    }

    /** The end of the reference starting with the {@code {{} at {@code start}, or -1. */
    private static int referenceEnd(String s, int start) {
        int n = s.length();
        int p = skipSpace(s, start + 2);
        if (!s.startsWith(KEYWORD, p)) {
            return -1;
        }
        p += KEYWORD.length();
        if (p >= n || !Names.isLetter(s.charAt(p))) {
            return -1;
        }
        int nameStart = p;
        while (p < n && Names.isNameChar(s.charAt(p))) {
            p++;
        }
        if (p - nameStart > Limits.MAX_NAME_LEN) {
            return -1;
        }
        p = skipSpace(s, p);
        if (!s.startsWith("}}", p)) {
            return -1;
        }
        return p + 2;
    }

    private static String nameOf(String raw) {
        int p = skipSpace(raw, 2) + KEYWORD.length();
        int start = p;
        while (p < raw.length() && Names.isNameChar(raw.charAt(p))) {
            p++;
        }
        return raw.substring(start, p);
    }

    private static int skipSpace(String s, int p) {
        while (p < s.length()) {
            char c = s.charAt(p);
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
                break;
            }
            p++;
        }
        return p;
    }
}
