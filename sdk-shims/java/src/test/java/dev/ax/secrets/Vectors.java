package dev.ax.secrets;

import static dev.ax.secrets.json.Json.array;
import static dev.ax.secrets.json.Json.object;

import dev.ax.secrets.json.Json;
import dev.ax.secrets.wire.Request;
import dev.ax.secrets.wire.RequestBody;
import dev.ax.secrets.wire.Response;
import dev.ax.secrets.wire.ResponseBody;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Loads the shared vectors of protocol/vectors/ with the strict key checks of PROTOCOL.md
 * §10.2, and converts messages to and from their canonical JSON.
 */
final class Vectors {
    private Vectors() {}

    static final Path DIR = Workspace.root().resolve("protocol").resolve("vectors");

    static final Set<String> FILE_KEYS =
            Set.of("schema", "area", "description", "numberOfTests", "tests");
    static final Set<String> MESSAGE_FILE_KEYS = union(FILE_KEYS, Set.of("direction", "limit"));
    static final Set<String> TEST_KEYS =
            Set.of("id", "comment", "flags", "hex", "value", "result", "error");
    static final Map<String, Set<String>> SCHEMAS = Map.of(
            "ax-protocol/messages/v2", MESSAGE_FILE_KEYS,
            "ax-protocol/names/v1", FILE_KEYS,
            "ax-protocol/templates/v1", FILE_KEYS,
            "ax-protocol/bundles/v1", FILE_KEYS,
            "ax-protocol/redaction/v1", FILE_KEYS);

    /** A vector file that breaks the format of PROTOCOL.md §10.2. */
    static final class VectorFileError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        VectorFileError(String message) {
            super(message);
        }
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> out = new HashSet<>(a);
        out.addAll(b);
        return Set.copyOf(out);
    }

    /** Every {@code .json} file of the vectors directory, sorted. */
    static List<String> files() {
        try (Stream<Path> listing = Files.list(DIR)) {
            return listing.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".json"))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Map<String, Object> load(String name) {
        try {
            String text = Files.readString(DIR.resolve(name), StandardCharsets.UTF_8);
            return checkFile(name, Json.parse(text));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void expectKeys(Map<String, Object> obj, Set<String> keys, String where) {
        if (!obj.keySet().equals(keys)) {
            throw new VectorFileError(where + ": keys " + new TreeSet<>(obj.keySet())
                    + " are not " + new TreeSet<>(keys));
        }
    }

    /** Checks a loaded vector file's keys and test keys; fails on anything unknown. */
    static Map<String, Object> checkFile(String name, Object parsed) {
        if (!(parsed instanceof Map)) {
            throw new VectorFileError(name + ": not a JSON object");
        }
        Map<String, Object> data = object(parsed);
        Set<String> expected = SCHEMAS.get(String.valueOf(data.get("schema")));
        if (expected == null) {
            throw new VectorFileError(name + ": unknown schema " + data.get("schema"));
        }
        expectKeys(data, expected, name);
        List<Object> tests = array(data.get("tests"));
        if (!Long.valueOf(tests.size()).equals(data.get("numberOfTests"))) {
            throw new VectorFileError(name + ": numberOfTests is not the number of tests");
        }
        Set<Object> seen = new HashSet<>();
        for (Object t : tests) {
            Map<String, Object> test = object(t);
            String where = name + "#" + test.get("id");
            expectKeys(test, TEST_KEYS, where);
            Object result = test.get("result");
            if (!"valid".equals(result) && !"invalid".equals(result)) {
                throw new VectorFileError(where + ": result " + result);
            }
            if ((test.get("error") == null) != "valid".equals(result)) {
                throw new VectorFileError(where + ": error does not fit result");
            }
            if (!seen.add(test.get("id"))) {
                throw new VectorFileError(where + ": id repeated");
            }
        }
        return data;
    }

    static byte[] hex(Object hex) {
        return HexFormat.of().parseHex((String) hex);
    }

    static Object unsigned(long value) {
        return value >= 0 ? (Object) value : new BigInteger(Long.toUnsignedString(value));
    }

    static long toLong(Object number) {
        if (number instanceof Long l) {
            return l;
        }
        return ((BigInteger) number).longValue(); // a u64 above 2^63: the same 64 bits
    }

    // ---------------------------------------------------------------------------------------
    // Canonical JSON of messages.

    static Map<String, Object> toJson(Request request) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", unsigned(request.id()));
        RequestBody body = request.body();
        if (body instanceof RequestBody.Hello h) {
            out.put("type", "Hello");
            out.put("version", (long) h.version());
            out.put("client", h.client());
            out.put("token", h.token());
        } else if (body instanceof RequestBody.Get g) {
            out.put("type", "Get");
            out.put("name", g.name());
        } else if (body instanceof RequestBody.ListSecrets) {
            out.put("type", "List");
        } else if (body instanceof RequestBody.Render r) {
            out.put("type", "Render");
            out.put("template", r.template());
        } else if (body instanceof RequestBody.Redact r) {
            out.put("type", "Redact");
            out.put("text", r.text());
        } else if (body instanceof RequestBody.Ping) {
            out.put("type", "Ping");
        }
        return out;
    }

    static Map<String, Object> toJson(Response response) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", unsigned(response.id()));
        ResponseBody body = response.body();
        if (body instanceof ResponseBody.Hello h) {
            out.put("type", "Hello");
            out.put("version", (long) h.version());
            out.put("sidecar", h.sidecar());
            out.put("execution_id", h.executionId());
        } else if (body instanceof ResponseBody.Secret s) {
            out.put("type", "Secret");
            out.put("value", s.value());
        } else if (body instanceof ResponseBody.SecretList l) {
            out.put("type", "List");
            List<Object> secrets = new ArrayList<>();
            for (ResponseBody.Info info : l.secrets()) {
                Map<String, Object> i = new LinkedHashMap<>();
                i.put("name", info.name());
                i.put("version", info.version());
                i.put("updated_at", unsigned(info.updatedAt()));
                secrets.add(i);
            }
            out.put("secrets", secrets);
        } else if (body instanceof ResponseBody.Rendered r) {
            out.put("type", "Rendered");
            out.put("text", r.text());
            out.put("missing", r.missing());
        } else if (body instanceof ResponseBody.Redacted r) {
            out.put("type", "Redacted");
            out.put("text", r.text());
            out.put("found", r.found());
        } else if (body instanceof ResponseBody.Pong) {
            out.put("type", "Pong");
        } else if (body instanceof ResponseBody.Error e) {
            out.put("type", "Error");
            out.put("code", e.code().wireName());
            out.put("message", e.message());
        }
        return out;
    }

    private static final Map<String, Set<String>> REQUEST_FIELDS = Map.of(
            "Hello", Set.of("version", "client", "token"),
            "Get", Set.of("name"),
            "List", Set.of(),
            "Render", Set.of("template"),
            "Redact", Set.of("text"),
            "Ping", Set.of());

    private static final Map<String, Set<String>> RESPONSE_FIELDS = Map.of(
            "Hello", Set.of("version", "sidecar", "execution_id"),
            "Secret", Set.of("value"),
            "List", Set.of("secrets"),
            "Rendered", Set.of("text", "missing"),
            "Redacted", Set.of("text", "found"),
            "Pong", Set.of(),
            "Error", Set.of("code", "message"));

    private static String checkFields(Map<String, Object> v, Map<String, Set<String>> fields) {
        String type = (String) v.get("type");
        Set<String> expected = fields.get(type);
        if (expected == null) {
            throw new VectorFileError("unknown message type " + type);
        }
        expectKeys(v, union(expected, Set.of("id", "type")), "message " + type);
        return type;
    }

    @SuppressWarnings("unchecked")
    private static List<String> strings(Object list) {
        return (List<String>) (List<?>) array(list);
    }

    /** The request a canonical JSON object stands for; fails on unknown or missing fields. */
    static Request requestFromJson(Map<String, Object> v) {
        long id = toLong(v.get("id"));
        RequestBody body = switch (checkFields(v, REQUEST_FIELDS)) {
            case "Hello" -> new RequestBody.Hello((int) toLong(v.get("version")),
                    (String) v.get("client"), (String) v.get("token"));
            case "Get" -> new RequestBody.Get((String) v.get("name"));
            case "List" -> RequestBody.ListSecrets.INSTANCE;
            case "Render" -> new RequestBody.Render((String) v.get("template"));
            case "Redact" -> new RequestBody.Redact((String) v.get("text"));
            default -> RequestBody.Ping.INSTANCE;
        };
        return new Request(id, body);
    }

    /** The response a canonical JSON object stands for; fails on unknown or missing fields. */
    static Response responseFromJson(Map<String, Object> v) {
        long id = toLong(v.get("id"));
        ResponseBody body = switch (checkFields(v, RESPONSE_FIELDS)) {
            case "Hello" -> new ResponseBody.Hello((int) toLong(v.get("version")),
                    (String) v.get("sidecar"), (String) v.get("execution_id"));
            case "Secret" -> new ResponseBody.Secret((String) v.get("value"));
            case "List" -> {
                List<ResponseBody.Info> infos = new ArrayList<>();
                for (Object o : array(v.get("secrets"))) {
                    Map<String, Object> i = object(o);
                    expectKeys(i, Set.of("name", "version", "updated_at"), "SecretInfo");
                    infos.add(new ResponseBody.Info((String) i.get("name"),
                            toLong(i.get("version")), toLong(i.get("updated_at"))));
                }
                yield new ResponseBody.SecretList(infos);
            }
            case "Rendered" -> new ResponseBody.Rendered(
                    (String) v.get("text"), strings(v.get("missing")));
            case "Redacted" -> new ResponseBody.Redacted(
                    (String) v.get("text"), strings(v.get("found")));
            case "Pong" -> ResponseBody.Pong.INSTANCE;
            default -> new ResponseBody.Error(
                    ErrorCode.fromWireName((String) v.get("code")), (String) v.get("message"));
        };
        return new Response(id, body);
    }
}
