package dev.ax.secrets.wire;

/**
 * The body of a request (PROTOCOL.md §5), one record per variant, in tag order. Fields that
 * may hold a token or text from node code are left out of {@code toString}.
 */
public sealed interface RequestBody {
    /** The variant's wire tag. */
    int tag();

    /** Tag 0: the handshake, the first request on every connection. */
    record Hello(int version, String client, String token) implements RequestBody {
        @Override
        public int tag() {
            return 0;
        }

        @Override
        public String toString() {
            return "Hello[version=" + version + ", client=" + client
                    + ", token=" + (token == null ? "none" : "[redacted]") + "]";
        }
    }

    /** Tag 1: one secret by name (any string is well-formed; an invalid name is not found). */
    record Get(String name) implements RequestBody {
        @Override
        public int tag() {
            return 1;
        }
    }

    /** Tag 2: the metadata of every secret. */
    record ListSecrets() implements RequestBody {
        /** The one value of this variant. */
        public static final ListSecrets INSTANCE = new ListSecrets();

        @Override
        public int tag() {
            return 2;
        }
    }

    /** Tag 3: expand {@code {{secrets.NAME}}} references. */
    record Render(String template) implements RequestBody {
        @Override
        public int tag() {
            return 3;
        }

        @Override
        public String toString() {
            return "Render[template=[redacted]]";
        }
    }

    /** Tag 4: replace every secret value in a text with {@code ***}. */
    record Redact(String text) implements RequestBody {
        @Override
        public int tag() {
            return 4;
        }

        @Override
        public String toString() {
            return "Redact[text=[redacted]]";
        }
    }

    /** Tag 5: liveness check. */
    record Ping() implements RequestBody {
        /** The one value of this variant. */
        public static final Ping INSTANCE = new Ping();

        @Override
        public int tag() {
            return 5;
        }
    }

    /** How many request variants protocol v2 defines. */
    int COUNT = 6;
}
