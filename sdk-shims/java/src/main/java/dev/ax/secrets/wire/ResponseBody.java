package dev.ax.secrets.wire;

import dev.ax.secrets.ErrorCode;
import java.util.List;

/**
 * The body of a response (PROTOCOL.md §6), one record per variant, in tag order. Fields that
 * may hold a secret value are left out of {@code toString}.
 */
public sealed interface ResponseBody {
    /** The variant's wire tag. */
    int tag();

    /** Tag 0: the handshake was accepted. */
    record Hello(int version, String sidecar, String executionId) implements ResponseBody {
        @Override
        public int tag() {
            return 0;
        }
    }

    /** Tag 1: the answer to {@code Get}; {@code null} is not found, {@code ""} a found empty value. */
    record Secret(String value) implements ResponseBody {
        @Override
        public int tag() {
            return 1;
        }

        @Override
        public String toString() {
            return "Secret[" + (value == null ? "none" : "[redacted]") + "]";
        }
    }

    /** Tag 2: the answer to {@code List}, sorted by name; never a value. */
    record SecretList(List<Info> secrets) implements ResponseBody {
        /** Copies {@code secrets}. */
        public SecretList {
            secrets = List.copyOf(secrets);
        }

        @Override
        public int tag() {
            return 2;
        }
    }

    /** One entry of {@link SecretList}, as on the wire ({@code updatedAt} is a u64). */
    record Info(String name, long version, long updatedAt) {}

    /** Tag 3: the answer to {@code Render}. */
    record Rendered(String text, List<String> missing) implements ResponseBody {
        /** Copies {@code missing}. */
        public Rendered {
            missing = List.copyOf(missing);
        }

        @Override
        public int tag() {
            return 3;
        }

        @Override
        public String toString() {
            return "Rendered[text=[redacted], missing=" + missing + "]";
        }
    }

    /** Tag 4: the answer to {@code Redact}. */
    record Redacted(String text, List<String> found) implements ResponseBody {
        /** Copies {@code found}. */
        public Redacted {
            found = List.copyOf(found);
        }

        @Override
        public int tag() {
            return 4;
        }

        @Override
        public String toString() {
            return "Redacted[text=(" + text.length() + " chars), found=" + found + "]";
        }
    }

    /** Tag 5: the answer to {@code Ping}. */
    record Pong() implements ResponseBody {
        /** The one value of this variant. */
        public static final Pong INSTANCE = new Pong();

        @Override
        public int tag() {
            return 5;
        }
    }

    /** Tag 6: a refused request; {@code message} never holds a value (PROTOCOL.md §6.6). */
    record Error(ErrorCode code, String message) implements ResponseBody {
        @Override
        public int tag() {
            return 6;
        }
    }

    /** How many response variants protocol v2 defines. */
    int COUNT = 7;
}
