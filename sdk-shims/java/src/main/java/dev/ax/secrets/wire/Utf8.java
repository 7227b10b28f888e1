package dev.ax.secrets.wire;

import java.nio.charset.StandardCharsets;

/**
 * Strict UTF-8 in both directions, without intermediate arrays.
 *
 * <p>The JDK's own decoder replaces malformed input instead of refusing it, and its encoder
 * turns a lone surrogate into {@code ?}: the protocol needs both refused (PROTOCOL.md §4.2), so
 * validation is done here, by the table of RFC 3629 §4 (no overlong forms, no surrogates,
 * nothing above U+10FFFF), and the JDK then only converts bytes known to be valid.
 */
public final class Utf8 {
    private Utf8() {}

    /** Whether {@code data[offset, offset + length)} is well-formed UTF-8. */
    public static boolean isValid(byte[] data, int offset, int length) {
        int i = offset;
        int end = offset + length;
        while (i < end) {
            int b = data[i] & 0xFF;
            if (b < 0x80) {
                i++;
                continue;
            }
            int need;
            int low = 0x80;
            int high = 0xBF;
            if (b >= 0xC2 && b <= 0xDF) {
                need = 1;
            } else if (b >= 0xE0 && b <= 0xEF) {
                need = 2;
                if (b == 0xE0) {
                    low = 0xA0;
                } else if (b == 0xED) {
                    high = 0x9F; // U+D800..U+DFFF are surrogates, not characters
                }
            } else if (b >= 0xF0 && b <= 0xF4) {
                need = 3;
                if (b == 0xF0) {
                    low = 0x90;
                } else if (b == 0xF4) {
                    high = 0x8F;
                }
            } else {
                return false;
            }
            if (end - i - 1 < need) {
                return false;
            }
            int second = data[i + 1] & 0xFF;
            if (second < low || second > high) {
                return false;
            }
            for (int k = 2; k <= need; k++) {
                int c = data[i + k] & 0xFF;
                if (c < 0x80 || c > 0xBF) {
                    return false;
                }
            }
            i += need + 1;
        }
        return true;
    }

    /**
     * The string {@code data[offset, offset + length)} holds.
     *
     * @throws WireException {@link WireError#INVALID_UTF8} when the bytes are not UTF-8
     */
    public static String decode(byte[] data, int offset, int length) throws WireException {
        if (!isValid(data, offset, length)) {
            throw new WireException(WireError.INVALID_UTF8);
        }
        return new String(data, offset, length, StandardCharsets.UTF_8);
    }

    /**
     * The index of the first lone surrogate of {@code text} (a {@code char} that is half of a
     * surrogate pair without its other half), or -1 when {@code text} is valid Unicode.
     */
    public static int firstLoneSurrogate(CharSequence text) {
        int n = text.length();
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                } else {
                    return i;
                }
            } else if (Character.isLowSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The number of bytes of {@code text} in UTF-8.
     *
     * @throws IllegalArgumentException when {@code text} holds a lone surrogate
     */
    public static long encodedLength(String text) {
        int n = text.length();
        long bytes = n;
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c < 0x80) {
                continue;
            }
            if (c < 0x800) {
                bytes += 1;
            } else if (Character.isHighSurrogate(c)
                    && i + 1 < n
                    && Character.isLowSurrogate(text.charAt(i + 1))) {
                bytes += 2; // 4 bytes for the two chars
                i++;
            } else if (Character.isSurrogate(c)) {
                throw loneSurrogate(i);
            } else {
                bytes += 2;
            }
        }
        return bytes;
    }

    /**
     * Writes {@code text} as UTF-8 into {@code out} from {@code position}, which must have room
     * for {@link #encodedLength(String)} bytes; returns the position after it.
     *
     * @throws IllegalArgumentException when {@code text} holds a lone surrogate
     */
    public static int encode(String text, byte[] out, int position) {
        int p = position;
        int n = text.length();
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c < 0x80) {
                out[p++] = (byte) c;
            } else if (c < 0x800) {
                out[p++] = (byte) (0xC0 | c >> 6);
                out[p++] = (byte) (0x80 | c & 0x3F);
            } else if (Character.isSurrogate(c)) {
                if (!Character.isHighSurrogate(c)
                        || i + 1 >= n
                        || !Character.isLowSurrogate(text.charAt(i + 1))) {
                    throw loneSurrogate(i);
                }
                int cp = Character.toCodePoint(c, text.charAt(++i));
                out[p++] = (byte) (0xF0 | cp >> 18);
                out[p++] = (byte) (0x80 | cp >> 12 & 0x3F);
                out[p++] = (byte) (0x80 | cp >> 6 & 0x3F);
                out[p++] = (byte) (0x80 | cp & 0x3F);
            } else {
                out[p++] = (byte) (0xE0 | c >> 12);
                out[p++] = (byte) (0x80 | c >> 6 & 0x3F);
                out[p++] = (byte) (0x80 | c & 0x3F);
            }
        }
        return p;
    }

    private static IllegalArgumentException loneSurrogate(int index) {
        // Where, never what: the text may hold a secret.
        return new IllegalArgumentException(
                "the string is not valid Unicode (a lone surrogate at index " + index + ")");
    }
}
