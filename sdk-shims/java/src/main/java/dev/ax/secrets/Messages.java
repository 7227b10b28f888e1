package dev.ax.secrets;

import dev.ax.secrets.wire.Limits;

/**
 * Every message a user of the shim can see, in one place.
 *
 * <p>No message ever holds a secret value, a token, a template or a text to redact: only socket
 * paths, names of request kinds, error codes, sizes and positions.
 */
final class Messages {
    private Messages() {}

    static final String PREFIX = "ax-secrets: ";

    static String noSocketConfigured() {
        return PREFIX + Limits.SOCKET_ENV + " is not set, so there is no sidecar to ask"
                + " (in tests, use MockAxiomContext)";
    }

    /** A message about the sidecar at {@code path}. */
    static String at(String path, String what) {
        return PREFIX + "the sidecar at " + path + " " + what;
    }

    static String cannotConnect(String reason) {
        return "cannot be reached (" + reason + ")";
    }

    static final String TOKEN_REFUSED = "refused the client token";

    static String handshakeRefused(ErrorCode code) {
        return "refused the handshake with error " + code.wireName();
    }

    static String wrongVersion(int version) {
        return "speaks protocol version " + version + ", not " + Limits.PROTOCOL_VERSION;
    }

    static String notServedTwice(ErrorCode code) {
        return "did not serve the request, twice in a row (error " + code.wireName() + ")";
    }

    static final String BROKEN_TWICE =
            "closed the connection twice in a row before a request could be sent";

    static String closedMidRequest(String kind, String reason) {
        return "closed the connection before answering " + kind + " (" + reason
                + "); it was not resent";
    }

    static String interrupted(String kind) {
        return "was not asked: the thread was interrupted during " + kind
                + "; the connection was dropped";
    }

    static String idMismatch(long sent, long received) {
        return "answered request " + sent + " with id " + received
                + "; the connection was dropped";
    }

    static String malformed(String reason) {
        return "sent a malformed response (" + reason + "); the connection was dropped";
    }

    static String unexpectedAnswer(String kind, String answer) {
        return "answered " + kind + " with " + answer + "; the connection was dropped";
    }

    static String errorAnswer(String kind, ErrorCode code) {
        return "refused " + kind + " with error " + code.wireName();
    }

    static String requestTooLarge(String kind, long size) {
        return PREFIX + "this " + kind + " request would be " + size
                + " bytes, over the request limit of " + Limits.MAX_REQUEST_BODY
                + " bytes (1 MiB); nothing was sent";
    }

    static String notUnicode(String what, int index) {
        return PREFIX + "the " + what + " is not valid Unicode (a lone surrogate at index "
                + index + ")";
    }

    static String mockKeyNotAName(String problem) {
        // The key is not shown: a string that is not a name may be a value.
        return PREFIX + "the secrets map holds a key that is not a secret name (" + problem + ")";
    }

    static String mockValueNotUnicode(String name, int index) {
        return PREFIX + "the value of " + name + " is not valid Unicode (a lone surrogate at index "
                + index + ")";
    }
}
