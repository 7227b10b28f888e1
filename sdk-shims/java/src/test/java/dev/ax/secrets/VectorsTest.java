package dev.ax.secrets;

import static dev.ax.secrets.Vectors.expectKeys;
import static dev.ax.secrets.Vectors.hex;
import static dev.ax.secrets.json.Json.array;
import static dev.ax.secrets.json.Json.object;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ax.secrets.Vectors.VectorFileError;
import dev.ax.secrets.wire.Codec;
import dev.ax.secrets.wire.WireException;
import java.io.IOException;
import java.math.BigInteger;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

/** Every shared vector of protocol/vectors/, one named test each (PROTOCOL.md §10.2). */
class VectorsTest {
    private interface Runner {
        void run(Map<String, Object> file, Map<String, Object> test) throws Exception;
    }

    /** Every file of the directory; a file of an unknown schema fails the run. */
    @TestFactory
    Stream<DynamicNode> everyVectorOfEveryFile() {
        List<String> files = Vectors.files();
        assertTrue(files.size() >= 8, "vector files found: " + files);
        return files.stream().map(name -> {
            Map<String, Object> file = Vectors.load(name);
            Runner runner = switch ((String) file.get("schema")) {
                case "ax-protocol/messages/v2" -> VectorsTest::messageVector;
                case "ax-protocol/names/v1" -> VectorsTest::nameVector;
                case "ax-protocol/templates/v1" -> VectorsTest::templateVector;
                case "ax-protocol/bundles/v1" -> VectorsTest::bundleShape;
                case "ax-protocol/redaction/v1" -> RedactionVectors::run;
                default -> throw new VectorFileError(name + ": no runner for its schema");
            };
            return container(name, file, runner);
        });
    }

    /** The client's own socket reader, fed each response stream, accepts and refuses the same. */
    @TestFactory
    Stream<DynamicNode> responseVectorsThroughTheSocketReader() {
        return Stream.of("responses.json", "responses-large.json")
                .map(name -> container(name, Vectors.load(name), VectorsTest::throughSocket));
    }

    private static DynamicContainer container(
            String name, Map<String, Object> file, Runner runner) {
        List<DynamicTest> tests = new ArrayList<>();
        for (Object t : array(file.get("tests"))) {
            Map<String, Object> test = object(t);
            String label = name + "#" + test.get("id") + " " + test.get("comment");
            Executable body = () -> runner.run(file, test);
            tests.add(DynamicTest.dynamicTest(label, body));
        }
        return DynamicContainer.dynamicContainer(name, tests);
    }

    private static Object decode(String direction, byte[] body) throws WireException {
        return "request".equals(direction)
                ? Codec.decodeRequest(body, 0, body.length)
                : Codec.decodeResponse(body, 0, body.length);
    }

    private static Map<String, Object> toJson(Object message) {
        return message instanceof dev.ax.secrets.wire.Request r
                ? Vectors.toJson(r)
                : Vectors.toJson((dev.ax.secrets.wire.Response) message);
    }

    private static byte[] encode(String direction, Map<String, Object> value) {
        return "request".equals(direction)
                ? Codec.encodeRequestFrame(Vectors.requestFromJson(value))
                : Codec.encodeResponseFrame(Vectors.responseFromJson(value));
    }

    static void messageVector(Map<String, Object> file, Map<String, Object> test)
            throws WireException {
        byte[] stream = hex(test.get("hex"));
        String direction = (String) file.get("direction");
        int limit = Math.toIntExact((Long) file.get("limit"));
        if ("valid".equals(test.get("result"))) {
            Object message = decode(direction, Codec.onlyFrameBody(stream, limit));
            assertEquals(test.get("value"), toJson(message));
            byte[] again = encode(direction, object(test.get("value")));
            if (array(test.get("flags")).contains("NonCanonical")) {
                assertFalse(Arrays.equals(again, stream), "the canonical form differs");
                assertEquals(message, decode(direction, Codec.onlyFrameBody(again, limit)));
            } else {
                assertArrayEquals(stream, again);
            }
        } else {
            assertNull(test.get("value"));
            WireException refused = assertThrows(WireException.class,
                    () -> decode(direction, Codec.onlyFrameBody(stream, limit)));
            assertEquals(test.get("error"), refused.error().vectorName());
        }
    }

    static void nameVector(Map<String, Object> file, Map<String, Object> test) {
        String name = (String) test.get("value");
        assertArrayEquals(hex(test.get("hex")), name.getBytes(StandardCharsets.UTF_8));
        assertEquals("valid".equals(test.get("result")), Names.isValid(name));
        assertEquals(test.get("error"),
                Names.problem(name).map(Names.Problem::vectorName).orElse(null));
    }

    @SuppressWarnings("unchecked")
    static void templateVector(Map<String, Object> file, Map<String, Object> test) {
        Map<String, Object> value = object(test.get("value"));
        expectKeys(value, Set.of("template", "secrets", "segments", "rendered", "missing"),
                "template vector");
        String template = (String) value.get("template");
        assertArrayEquals(hex(test.get("hex")), template.getBytes(StandardCharsets.UTF_8));
        List<Templates.Segment> expected = new ArrayList<>();
        for (Object s : array(value.get("segments"))) {
            Map<String, Object> segment = object(s);
            if (segment.keySet().equals(Set.of("text"))) {
                expected.add(new Templates.Text((String) segment.get("text")));
            } else if (segment.keySet().equals(Set.of("reference", "raw"))) {
                expected.add(new Templates.Reference(
                        (String) segment.get("reference"), (String) segment.get("raw")));
            } else {
                throw new VectorFileError("unknown segment keys " + segment.keySet());
            }
        }
        assertEquals(expected, Templates.segments(template));
        Map<String, String> secrets = new LinkedHashMap<>();
        object(value.get("secrets")).forEach((k, v) -> secrets.put(k, (String) v));
        Rendered want = new Rendered(
                (String) value.get("rendered"), (List<String>) (List<?>) array(value.get("missing")));
        assertEquals(want, Templates.render(template, secrets::get));
        assertEquals(want, new MockSecrets(secrets).render(template));
    }

    private static final Set<String> BUNDLE_VALUE_KEYS = Set.of("format", "key",
            "control_plane_public_key", "expected_execution_id", "now", "seal_randomness",
            "signing_seed", "plaintext", "bundle");
    private static final Set<String> BUNDLE_KEYS = Set.of("tenant", "execution_id",
            "environment", "config", "issued_at", "expires_at", "secrets", "overrides");
    private static final Set<String> BUNDLE_SECRET_KEYS =
            Set.of("name", "value", "version", "created_at", "updated_at");
    private static final Set<String> BUNDLE_ERRORS = Set.of("BadMagic", "Truncated",
            "LengthMismatch", "BadSignature", "WrongExecution", "BadEncapsulatedKey",
            "DecryptionFailed", "NotYetValid", "Expired");
    private static final Map<String, String> MAGIC = Map.of(
            "envelope", "ax-secrets/bundle/v1\n", "local", "ax-secrets/local-bundle/v1\n");

    /**
     * Shims never open bundles (only the sidecar does), so this checks each vector's shape with
     * the same strict key rules; it does not verify any cryptography.
     */
    static void bundleShape(Map<String, Object> file, Map<String, Object> test) {
        byte[] sealed = hex(test.get("hex"));
        Map<String, Object> value = object(test.get("value"));
        expectKeys(value, BUNDLE_VALUE_KEYS, "bundle vector");
        String magic = MAGIC.get((String) value.get("format"));
        assertTrue(magic != null, "format " + value.get("format"));
        assertTrue(value.get("now") instanceof Long || value.get("now") instanceof BigInteger,
                "now is an integer");
        hex(value.get("key"));
        hex(value.get("seal_randomness"));
        if (!"BadMagic".equals(test.get("error"))) {
            byte[] m = magic.getBytes(StandardCharsets.US_ASCII);
            assertTrue(sealed.length >= m.length
                    && Arrays.equals(Arrays.copyOf(sealed, m.length), m), "starts with the magic");
        }
        if ("valid".equals(test.get("result"))) {
            hex(value.get("plaintext"));
            Map<String, Object> bundle = object(value.get("bundle"));
            expectKeys(bundle, BUNDLE_KEYS, "bundle");
            List<Object> entries = new ArrayList<>(array(bundle.get("secrets")));
            entries.addAll(array(bundle.get("overrides")));
            for (Object e : entries) {
                Map<String, Object> entry = object(e);
                expectKeys(entry, BUNDLE_SECRET_KEYS, "bundle secret");
                assertTrue(Names.isValid((String) entry.get("name")));
            }
        } else {
            assertNull(value.get("bundle"));
            assertNull(value.get("plaintext"));
            assertTrue(BUNDLE_ERRORS.contains((String) test.get("error")), "" + test.get("error"));
        }
    }

    static void throughSocket(Map<String, Object> file, Map<String, Object> test)
            throws Exception {
        byte[] stream = hex(test.get("hex"));
        Path dir = Files.createTempDirectory("axjv-");
        Path path = dir.resolve("s.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(path));
            Thread writer = new Thread(() -> {
                try (SocketChannel peer = server.accept()) {
                    ByteBuffer out = ByteBuffer.wrap(stream);
                    while (out.hasRemaining()) {
                        peer.write(out);
                    }
                } catch (IOException e) {
                    // A refused frame is not read to its end: the reader hangs up first.
                }
            });
            writer.start();
            Connection connection = Connection.open(path.toString());
            try {
                String error = (String) test.get("error");
                if ("valid".equals(test.get("result"))) {
                    connection.readFrame();
                    assertEquals(test.get("value"), Vectors.toJson(Codec.decodeResponse(
                            connection.bodyArray, connection.bodyOffset, connection.bodyLength)));
                    assertThrows(Connection.Broken.class, connection::readFrame);
                } else if ("Truncated".equals(error)) {
                    assertThrows(Connection.Broken.class, connection::readFrame);
                } else if ("FrameTooLarge".equals(error)) {
                    WireException e = assertThrows(WireException.class, connection::readFrame);
                    assertEquals(error, e.error().vectorName());
                } else {
                    connection.readFrame();
                    WireException e = assertThrows(WireException.class, () -> Codec.decodeResponse(
                            connection.bodyArray, connection.bodyOffset, connection.bodyLength));
                    assertEquals(error, e.error().vectorName());
                }
            } finally {
                connection.close();
            }
            writer.join();
        } finally {
            Files.deleteIfExists(path);
            Files.deleteIfExists(dir);
        }
    }

    // ---------------------------------------------------------------------------------------
    // The loader itself.

    private static Map<String, Object> namesFile(List<Object> tests, long count) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("schema", "ax-protocol/names/v1");
        data.put("area", "x");
        data.put("description", "x");
        data.put("numberOfTests", count);
        data.put("tests", tests);
        return data;
    }

    private static Map<String, Object> nameTest() {
        Map<String, Object> test = new LinkedHashMap<>();
        test.put("id", 1L);
        test.put("comment", "");
        test.put("flags", List.of());
        test.put("hex", "41");
        test.put("value", "A");
        test.put("result", "valid");
        test.put("error", null);
        return test;
    }

    @Test
    void theLoaderAcceptsAWellFormedFile() {
        Vectors.checkFile("x.json", namesFile(List.of(nameTest()), 1));
    }

    @Test
    void theLoaderRefusesAnUnknownKeyAtFileLevel() {
        Map<String, Object> data = namesFile(List.of(), 0);
        data.put("extra", 1L);
        assertThrows(VectorFileError.class, () -> Vectors.checkFile("x.json", data));
    }

    @Test
    void theLoaderRefusesAnUnknownKeyAtTestLevel() {
        Map<String, Object> test = nameTest();
        test.put("surprise", true);
        assertThrows(VectorFileError.class,
                () -> Vectors.checkFile("x.json", namesFile(List.of(test), 1)));
    }

    @Test
    void theLoaderRefusesAMissingKey() {
        Map<String, Object> test = nameTest();
        test.remove("flags");
        assertThrows(VectorFileError.class,
                () -> Vectors.checkFile("x.json", namesFile(List.of(test), 1)));
    }

    @Test
    void theLoaderRefusesAWrongTestCount() {
        assertThrows(VectorFileError.class,
                () -> Vectors.checkFile("x.json", namesFile(List.of(), 2)));
    }

    @Test
    void theLoaderRefusesAnUnknownSchema() {
        Map<String, Object> data = namesFile(List.of(), 0);
        data.put("schema", "ax-protocol/surprise/v1");
        assertThrows(VectorFileError.class, () -> Vectors.checkFile("x.json", data));
    }

    @Test
    void canonicalJsonRefusesAnUnknownField() {
        Map<String, Object> ping = new LinkedHashMap<>();
        ping.put("id", 1L);
        ping.put("type", "Ping");
        ping.put("extra", 1L);
        assertThrows(VectorFileError.class, () -> Vectors.requestFromJson(ping));
        ping.remove("extra");
        assertEquals(new dev.ax.secrets.wire.Request(1, dev.ax.secrets.wire.RequestBody.Ping.INSTANCE),
                Vectors.requestFromJson(ping));
    }
}
