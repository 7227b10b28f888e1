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

    static String socketPathTooLong(String path, int bytes) {
        return PREFIX + "socket path " + path + " is " + bytes
                + " bytes; a Unix socket path holds at most " + Limits.MAX_SOCKET_PATH;
    }

    static final String TOKEN_REFUSED = "refused the client token (missing or wrong)";

    /** An {@code Unauthorized} with id 0: this process's uid may not connect (PROTOCOL §1). */
    static String uidRefused(long uid) {
        String who = uid < 0 ? "this process's uid" : "this process's uid " + uid;
        return "refused " + who + " (not allowed to connect)";
    }

    static String handshakeRefused(ErrorCode code) {
        return "refused the handshake with error " + code.wireName();
    }

    static String wrongVersion(int version) {
        return "speaks protocol version " + version + ", not " + Limits.PROTOCOL_VERSION;
    }

    static String notServed(String kind, ErrorCode code) {
        String why = code == ErrorCode.BUSY ? "; it is at its connection limit, try again later" : "";
        return "did not serve " + kind + " (error " + code.wireName() + ")" + why;
    }

    static String closedMidRequest(String kind, String reason) {
        return "closed the connection before answering " + kind + " (" + reason + ")";
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
