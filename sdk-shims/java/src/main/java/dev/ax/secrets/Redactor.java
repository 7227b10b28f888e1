package dev.ax.secrets;

import dev.ax.secrets.wire.Limits;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The redaction engine of the mock, matching the sidecar's (PROTOCOL.md §8.4): every form of
 * every non-empty value, matched at once, leftmost-longest, without overlaps.
 *
 * <p>The sidecar runs one leftmost-longest Aho-Corasick automaton. Here, the forms are indexed
 * by their first {@code char}, longest first: scanning left to right and taking, at each
 * position, the longest form that starts there gives the same matches. Matching UTF-16 units
 * finds the same matches as the sidecar's matching of UTF-8 bytes, since neither the forms nor
 * the text hold a lone surrogate (both are refused before they get here), and of two forms
 * matching at one position the shorter is a prefix of the longer in either encoding.
 */
final class Redactor {
    /** Forms by first char, each list longest first. */
    private final Map<Character, String[]> byFirstChar;
    /** The names owning each form, sorted (two secrets may share a value or a form). */
    private final Map<String, List<String>> owners;

    Redactor(Map<String, String> secrets) {
        Map<String, SortedSet<String>> owning = new HashMap<>();
        for (Map.Entry<String, String> secret : secrets.entrySet()) {
            if (secret.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                    < Limits.MIN_REDACTED_LEN) {
                continue; // an empty or too short value is never matched
            }
            for (String form : Encodings.forms(secret.getValue())) {
                owning.computeIfAbsent(form, f -> new TreeSet<>()).add(secret.getKey());
            }
        }
        Map<Character, List<String>> grouped = new HashMap<>();
        owners = new HashMap<>();
        for (Map.Entry<String, SortedSet<String>> entry : owning.entrySet()) {
            owners.put(entry.getKey(), List.copyOf(entry.getValue()));
            grouped.computeIfAbsent(entry.getKey().charAt(0), c -> new ArrayList<>())
                    .add(entry.getKey());
        }
        byFirstChar = new HashMap<>();
        for (Map.Entry<Character, List<String>> entry : grouped.entrySet()) {
            List<String> forms = entry.getValue();
            forms.sort(Comparator.comparingInt(String::length).reversed());
            byFirstChar.put(entry.getKey(), forms.toArray(new String[0]));
        }
    }

    /** {@code text} with every match replaced by {@code ***}, and the names found. */
    Redacted redact(String text) {
        if (byFirstChar.isEmpty()) {
            return new Redacted(text, List.of());
        }
        StringBuilder out = null;
        SortedSet<String> found = new TreeSet<>();
        int copied = 0;
        int i = 0;
        int n = text.length();
        while (i < n) {
            String match = longestAt(text, i);
            if (match == null) {
                i++;
                continue;
            }
            if (out == null) {
                out = new StringBuilder(n);
            }
            out.append(text, copied, i).append(Limits.REDACTION_MARK);
            found.addAll(owners.get(match));
            i += match.length();
            copied = i;
        }
        if (out == null) {
            return new Redacted(text, List.of());
        }
        out.append(text, copied, n);
        // Names are ASCII, so String order is the sidecar's bytewise order.
        return new Redacted(out.toString(), new ArrayList<>(found));
    }

    private String longestAt(String text, int i) {
        String[] forms = byFirstChar.get(text.charAt(i));
        if (forms != null) {
            for (String form : forms) {
                if (text.startsWith(form, i)) {
                    return form;
                }
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return "Redactor[patterns=" + owners.size() + "]";
    }
}
