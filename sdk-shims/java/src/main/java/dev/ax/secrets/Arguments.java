package dev.ax.secrets;

import dev.ax.secrets.wire.Utf8;

/** Checks of arguments shared by the sidecar client and the mock, so both refuse alike. */
final class Arguments {
    private Arguments() {}

    /**
     * Refuses a string with a lone surrogate: it has no UTF-8 form, so no sidecar request can
     * carry it. The message gives where, never what.
     */
    static void requireUnicode(String s, String what) {
        int lone = Utf8.firstLoneSurrogate(s);
        if (lone >= 0) {
            throw new IllegalArgumentException(Messages.notUnicode(what, lone));
        }
    }
}
