import dev.ax.secrets.AxiomContext;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.StringJoiner;

/**
 * The demo node in Java: runs the operations it is given, one JSON line per result.
 *
 * <p>Operations (the contract every demo node follows, see ../README.md):
 * <pre>
 *   get NAME             {"op": "get", "name": NAME, "found": bool, "fingerprint": hex|null}
 *   get-or NAME DEFAULT  like get; when NAME is missing, uses DEFAULT and reports it
 *   print NAME           prints "NAME is &lt;value&gt;" (the platform log shows ***)
 *   wait                 reads one line from stdin (the demo changes something meanwhile)
 * </pre>
 */
public final class Node {
    private Node() {}

    /** Twelve hex digits of SHA-256: shows which value was read without printing it. */
    static String fingerprint(String value) throws NoSuchAlgorithmException {
        byte[] sum = MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(sum, 0, 6);
    }

    /** A JSON value: a string, a boolean or null. */
    static String json(Object v) {
        if (!(v instanceof String s)) {
            return String.valueOf(v);
        }
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> out.append(c < 0x20 ? String.format("\\u%04x", (int) c) : String.valueOf(c));
            }
        }
        return out.append('"').toString();
    }

    /** Prints one JSON object from its keys and values, in order. */
    static void emit(Object... keysAndValues) {
        StringJoiner out = new StringJoiner(", ", "{", "}");
        for (int k = 0; k < keysAndValues.length; k += 2) {
            out.add(json(keysAndValues[k]) + ": " + json(keysAndValues[k + 1]));
        }
        System.out.println(out);
    }

    public static void main(String[] args) throws Exception {
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (AxiomContext ax = new AxiomContext()) {
            for (int i = 0; i < args.length; ) {
                String op = args[i];
                if (op.equals("get") && i + 1 < args.length) {
                    String name = args[i + 1];
                    Optional<String> value = ax.secrets().get(name);
                    emit("op", "get", "name", name, "found", value.isPresent(),
                            "fingerprint", value.isPresent() ? fingerprint(value.get()) : null);
                    i += 2;
                } else if (op.equals("get-or") && i + 2 < args.length) {
                    String name = args[i + 1];
                    String fallback = args[i + 2];
                    Optional<String> value = ax.secrets().get(name);
                    emit("op", "get-or", "name", name, "found", value.isPresent(),
                            "fingerprint", value.isPresent() ? fingerprint(value.get()) : null,
                            "used", value.isPresent() ? null : fallback);
                    i += 3;
                } else if (op.equals("print") && i + 1 < args.length) {
                    String name = args[i + 1];
                    System.out.println(name + " is " + ax.secrets().get(name).orElse(""));
                    i += 2;
                } else if (op.equals("wait")) {
                    stdin.readLine();
                    i += 1;
                } else {
                    emit("op", op, "error", "unknown operation");
                    System.exit(2);
                }
            }
        }
    }
}
