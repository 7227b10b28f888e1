package dev.ax.secrets;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/** The forms a secret value commonly leaks in (PROTOCOL.md §8.4), as the sidecar computes them. */
final class Encodings {
    private Encodings() {}

    private static final char[] HEX_LOWER = "0123456789abcdef".toCharArray();
    private static final char[] HEX_UPPER = "0123456789ABCDEF".toCharArray();

    /**
     * Every form of {@code value} that is redacted, in the order of PROTOCOL.md §8.4,
     * duplicates included: the value itself; base64 and base64url, padded and unpadded; JSON
     * string escaped with non-ASCII kept and with it as <code>&#92;uXXXX</code>; percent-encoded.
     */
    static List<String> forms(String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        return List.of(
                value,
                Base64.getEncoder().encodeToString(bytes),
                Base64.getEncoder().withoutPadding().encodeToString(bytes),
                Base64.getUrlEncoder().encodeToString(bytes),
                Base64.getUrlEncoder().withoutPadding().encodeToString(bytes),
                jsonEscaped(value, false),
                jsonEscaped(value, true),
                percentEncoded(bytes));
    }

    /**
     * {@code value} as it appears between the quotes of a JSON string: {@code "} and {@code \}
     * escaped, control characters below U+0020 as {@code \n}, {@code \t}, {@code \r},
     * {@code \b}, {@code \f} or <code>&#92;u00xx</code>; with {@code asciiOnly}, every character above
     * U+007F as <code>&#92;uxxxx</code> (lower-case hex; a {@code char} is a UTF-16 unit, so a
     * character above U+FFFF becomes its surrogate pair). DEL stays as it is.
     */
    static String jsonEscaped(String value, boolean asciiOnly) {
        StringBuilder out = new StringBuilder(value.length() + 8);
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\t' -> out.append("\\t");
                case '\r' -> out.append("\\r");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || (asciiOnly && c > 0x7F)) {
                        out.append("\\u")
                                .append(HEX_LOWER[c >> 12 & 0xF])
                                .append(HEX_LOWER[c >> 8 & 0xF])
                                .append(HEX_LOWER[c >> 4 & 0xF])
                                .append(HEX_LOWER[c & 0xF]);
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }

    /** RFC 3986 percent-encoding: every byte outside {@code A-Z a-z 0-9 - . _ ~} as {@code %XX}. */
    static String percentEncoded(byte[] bytes) {
        StringBuilder out = new StringBuilder(bytes.length * 3);
        for (byte b : bytes) {
            int v = b & 0xFF;
            if ((v >= 'A' && v <= 'Z') || (v >= 'a' && v <= 'z') || (v >= '0' && v <= '9')
                    || v == '-' || v == '.' || v == '_' || v == '~') {
                out.append((char) v);
            } else {
                out.append('%').append(HEX_UPPER[v >> 4]).append(HEX_UPPER[v & 0xF]);
            }
        }
        return out.toString();
    }
}
