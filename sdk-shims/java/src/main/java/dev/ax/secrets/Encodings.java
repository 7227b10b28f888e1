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
     * string escaped with non-ASCII kept and with it as <code>&#92;uXXXX</code>; percent-encoded;
     * then what common libraries print (§8.4 items 6 to 11, in that order).
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
                percentEncoded(bytes),
                jsonStyled(value, JsonStyle.HTML_SAFE),
                jsonStyled(value, JsonStyle.GSON),
                jsonStyled(value, JsonStyle.DOTNET),
                jsonStyled(value, JsonStyle.UPPER_CONTROLS),
                pythonReprStr(value),
                pythonReprBytes(bytes),
                goQuoted(value),
                urlEscaped(bytes, "-_.~", true, false),
                urlEscaped(bytes, "-_.*", true, false),
                urlEscaped(bytes, "-_.~/", false, false),
                urlEscaped(bytes, "-_.~$&+:=@", false, false),
                urlEscaped(bytes, "-_.!~*'()", false, false),
                urlEscaped(bytes, "-_.~", false, true),
                urlEscaped(bytes, "-_.!*()", true, true),
                urlEscaped(bytes, "-_.!*()", true, false));
    }

    /** The JSON encoders whose output differs from {@link #jsonEscaped}'s (§8.4 item 6). */
    enum JsonStyle {
        /** Go's json.Marshal. */
        HTML_SAFE("<>&\u2028\u2029"),
        /** Gson's default. */
        GSON("<>&='\u2028\u2029"),
        /** System.Text.Json's default encoder (plus every non-ASCII character). */
        DOTNET("\"&'+<>`\u007f"),
        /** Jackson's: control characters in upper-case hex. */
        UPPER_CONTROLS("");

        final String escaped;

        JsonStyle(String escaped) {
            this.escaped = escaped;
        }
    }

    private static void units(StringBuilder out, int code, boolean upper) {
        char[] hex = upper ? HEX_UPPER : HEX_LOWER;
        for (char c : Character.toChars(code)) {
            out.append("\\u").append(hex[c >> 12 & 0xF]).append(hex[c >> 8 & 0xF])
                    .append(hex[c >> 4 & 0xF]).append(hex[c & 0xF]);
        }
    }

    /** {@code value} between the quotes of a JSON string as the encoder {@code style} writes it. */
    static String jsonStyled(String value, JsonStyle style) {
        boolean upper = style == JsonStyle.DOTNET || style == JsonStyle.UPPER_CONTROLS;
        StringBuilder out = new StringBuilder(value.length() + 8);
        value.codePoints().forEach(c -> {
            if (style.escaped.indexOf(c) >= 0 || (style == JsonStyle.DOTNET && c > 0x7F)) {
                units(out, c, upper);
            } else if (c == '"') {
                out.append("\\\"");
            } else if (c == '\\') {
                out.append("\\\\");
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '\t') {
                out.append("\\t");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c == '\b') {
                out.append("\\b");
            } else if (c == '\f') {
                out.append("\\f");
            } else if (c < 0x20) {
                units(out, c, upper);
            } else {
                out.appendCodePoint(c);
            }
        });
        return out.toString();
    }

    /** The non-ASCII characters Python's repr and Go's %q escape that §8.4 knows. */
    private static boolean unprintable(int c) {
        return (c >= 0x80 && c <= 0xA0) || c == 0xAD || c == 0x2028 || c == 0x2029;
    }

    private static void hex2(StringBuilder out, int c) {
        out.append("\\x").append(HEX_LOWER[c >> 4 & 0xF]).append(HEX_LOWER[c & 0xF]);
    }

    private static int pythonQuote(boolean single, boolean dbl) {
        return single && !dbl ? '"' : '\'';
    }

    /** Between the quotes of Python's repr() of a str (§8.4 item 7). */
    static String pythonReprStr(String value) {
        int quote = pythonQuote(value.indexOf('\'') >= 0, value.indexOf('"') >= 0);
        StringBuilder out = new StringBuilder(value.length() + 8);
        value.codePoints().forEach(c -> {
            if (c == '\\') {
                out.append("\\\\");
            } else if (c == '\n') {
                out.append("\\n");
            } else if (c == '\r') {
                out.append("\\r");
            } else if (c == '\t') {
                out.append("\\t");
            } else if (c == quote) {
                out.append('\\').appendCodePoint(c);
            } else if (c < 0x20 || c == 0x7F || (unprintable(c) && c < 0x100)) {
                hex2(out, c);
            } else if (unprintable(c)) {
                units(out, c, false);
            } else {
                out.appendCodePoint(c);
            }
        });
        return out.toString();
    }

    /** Between the quotes of Python's repr() of bytes (§8.4 item 8). */
    static String pythonReprBytes(byte[] bytes) {
        boolean single = false;
        boolean dbl = false;
        for (byte b : bytes) {
            single |= b == '\'';
            dbl |= b == '"';
        }
        int quote = pythonQuote(single, dbl);
        StringBuilder out = new StringBuilder(bytes.length + 8);
        for (byte signed : bytes) {
            int b = signed & 0xFF;
            if (b == '\\') {
                out.append("\\\\");
            } else if (b == '\n') {
                out.append("\\n");
            } else if (b == '\r') {
                out.append("\\r");
            } else if (b == '\t') {
                out.append("\\t");
            } else if (b == quote) {
                out.append('\\').append((char) b);
            } else if (b >= 0x20 && b <= 0x7E) {
                out.append((char) b);
            } else {
                hex2(out, b);
            }
        }
        return out.toString();
    }

    /** Between the quotes of Go's strconv.Quote / %q (§8.4 item 9). */
    static String goQuoted(String value) {
        StringBuilder out = new StringBuilder(value.length() + 8);
        value.codePoints().forEach(c -> {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case 0x07 -> out.append("\\a");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case 0x0B -> out.append("\\v");
                default -> {
                    if (c < 0x20 || c == 0x7F) {
                        hex2(out, c);
                    } else if (unprintable(c)) {
                        units(out, c, false);
                    } else {
                        out.appendCodePoint(c);
                    }
                }
            }
        });
        return out.toString();
    }

    /**
     * Percent-encoding keeping ASCII letters, digits and {@code kept}; a space as {@code +} if
     * {@code plus}; lower-case hex if {@code lower} (§8.4 items 10 and 11).
     */
    static String urlEscaped(byte[] bytes, String kept, boolean plus, boolean lower) {
        char[] hex = lower ? HEX_LOWER : HEX_UPPER;
        StringBuilder out = new StringBuilder(bytes.length + 8);
        for (byte signed : bytes) {
            int b = signed & 0xFF;
            boolean alnum = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9');
            if (alnum || kept.indexOf(b) >= 0) {
                out.append((char) b);
            } else if (plus && b == ' ') {
                out.append('+');
            } else {
                out.append('%').append(hex[b >> 4]).append(hex[b & 0xF]);
            }
        }
        return out.toString();
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
