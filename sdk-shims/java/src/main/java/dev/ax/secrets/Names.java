package dev.ax.secrets;

import dev.ax.secrets.wire.Limits;
import java.util.Optional;

/**
 * The secret-name rule (PROTOCOL.md §8.1): {@code ^[A-Za-z][A-Za-z0-9_]{0,127}$},
 * case-sensitive.
 *
 * <p>A string that breaks the rule is "not found" without a round trip: it may be a value
 * pasted by mistake, and it never leaves the process.
 */
public final class Names {
    private Names() {}

    /** Why a string is not a secret name, checked in this order (as the reference does). */
    public enum Problem {
        /** The empty string. */
        EMPTY("Empty"),
        /** Over 128 bytes of UTF-8. */
        TOO_LONG("TooLong"),
        /** The first character is not an ASCII letter. */
        BAD_FIRST_CHARACTER("BadFirstCharacter"),
        /** A later character is not an ASCII letter, digit or {@code _}. */
        BAD_CHARACTER("BadCharacter");

        private final String vectorName;

        Problem(String vectorName) {
            this.vectorName = vectorName;
        }

        /** The name of this problem in {@code names.json}, e.g. {@code "TooLong"}. */
        public String vectorName() {
            return vectorName;
        }
    }

    /** Whether {@code name} is a valid secret name. */
    public static boolean isValid(String name) {
        int n = name.length();
        if (n == 0 || n > Limits.MAX_NAME_LEN || !isLetter(name.charAt(0))) {
            return false;
        }
        for (int i = 1; i < n; i++) {
            if (!isNameChar(name.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** What is wrong with {@code name}; empty when it is a valid name. */
    public static Optional<Problem> problem(String name) {
        if (name.isEmpty()) {
            return Optional.of(Problem.EMPTY);
        }
        if (utf8Length(name) > Limits.MAX_NAME_LEN) {
            return Optional.of(Problem.TOO_LONG);
        }
        if (!isLetter(name.charAt(0))) {
            return Optional.of(Problem.BAD_FIRST_CHARACTER);
        }
        for (int i = 1; i < name.length(); i++) {
            if (!isNameChar(name.charAt(i))) {
                return Optional.of(Problem.BAD_CHARACTER);
            }
        }
        return Optional.empty();
    }

    static boolean isLetter(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    }

    static boolean isNameChar(char c) {
        return isLetter(c) || (c >= '0' && c <= '9') || c == '_';
    }

    /** UTF-8 length, counting a lone surrogate as the 3 bytes a lenient encoder gives it. */
    private static long utf8Length(String s) {
        long bytes = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c)
                    && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }
}
