package dev.ax.secrets;

import static dev.ax.secrets.json.Json.array;
import static dev.ax.secrets.json.Json.object;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ax.secrets.conformance.Driver;
import dev.ax.secrets.json.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** The mock, its template and redaction engines, and the conformance scenarios run on it. */
class MockTest {
    private static final Map<String, String> VALUES = Map.of(
            "GREETER_SIGNATURE", "test-sig",
            "EMPTY", "",
            "UNI", "pässwörd-密码-🔑",
            "SHORT", "k9",
            "LOOP", "{{secrets.SHORT}}");

    private final AxContext ax = MockAxiomContext.of(VALUES);

    @Test
    void aSecretIsFoundAndAMissingOneIsNot() {
        assertEquals(Optional.of("test-sig"), ax.secrets().get("GREETER_SIGNATURE"));
        assertEquals(Optional.empty(), ax.secrets().get("MISSING"));
        assertTrue(ax.secrets().exists("GREETER_SIGNATURE"));
        assertFalse(ax.secrets().exists("MISSING"));
    }

    @Test
    void anEmptyValueIsFound() {
        assertEquals(Optional.of(""), ax.secrets().get("EMPTY"));
        assertTrue(ax.secrets().exists("EMPTY"));
    }

    @Test
    void namesAreCaseSensitiveAndInvalidOnesAreNotFound() {
        assertEquals(Optional.empty(), ax.secrets().get("greeter_signature"));
        for (String name : List.of("", "1A", "A-B", "ключ", "test-sig", "A".repeat(129))) {
            assertEquals(Optional.empty(), ax.secrets().get(name), name);
        }
        assertThrows(NullPointerException.class, () -> ax.secrets().get(null));
    }

    @Test
    void listGivesEveryNameSortedAsVersionOneUpdatedAtZero() {
        List<SecretInfo> listed = ax.secrets().list();
        assertEquals(List.of("EMPTY", "GREETER_SIGNATURE", "LOOP", "SHORT", "UNI"),
                ax.secrets().names());
        for (SecretInfo info : listed) {
            assertEquals(1, info.version());
            assertEquals(0, info.updatedAt());
        }
    }

    @Test
    void listSortsBytewise() {
        AxContext mixed = MockAxiomContext.of(Map.of("b", "1", "B", "2", "a_", "3", "A1", "4"));
        assertEquals(List.of("A1", "B", "a_", "b"), mixed.secrets().names());
    }

    @Test
    void renderFollowsTheSidecarsRules() {
        assertEquals(new Rendered("sig=test-sig k9", List.of()),
                ax.secrets().render("sig={{ secrets.GREETER_SIGNATURE }} {{\tsecrets.SHORT\n}}"));
        assertEquals(new Rendered("{{secrets.X}} {{ secrets.Y }} {{secrets.X}}", List.of("X", "Y")),
                ax.secrets().render("{{secrets.X}} {{ secrets.Y }} {{secrets.X}}"));
        assertEquals(new Rendered("{k9}", List.of()), ax.secrets().render("{{{secrets.SHORT}}}"));
        assertEquals(new Rendered("{{secrets.SHORT}}", List.of()),
                ax.secrets().render("{{secrets.LOOP}}"), "a value is never expanded");
        String literal = "{{ secret.SHORT }} {{SECRETS.SHORT}} {{ secrets. SHORT }} {{secrets.1A}}"
                + " {{secrets.SHORT";
        assertEquals(new Rendered(literal, List.of()), ax.secrets().render(literal));
        String tooLong = "{{secrets." + "A".repeat(129) + "}}";
        assertEquals(new Rendered(tooLong, List.of()), ax.secrets().render(tooLong));
        String longest = "{{secrets." + "A".repeat(128) + "}}";
        assertEquals(List.of("A".repeat(128)), ax.secrets().render(longest).missing());
        assertEquals(new Rendered("[]", List.of()), ax.secrets().render("[{{secrets.EMPTY}}]"));
    }

    @Test
    void redactReplacesEveryFormOfEveryValue() {
        byte[] uni = VALUES.get("UNI").getBytes(StandardCharsets.UTF_8);
        String text = String.join(" ",
                "raw test-sig",
                "b64 " + Base64.getEncoder().encodeToString(uni),
                "url " + Base64.getUrlEncoder().withoutPadding().encodeToString(uni),
                "json p\\u00e4ssw\\u00f6rd-\\u5bc6\\u7801-\\ud83d\\udd11",
                "pct p%C3%A4ssw%C3%B6rd-%E5%AF%86%E7%A0%81-%F0%9F%94%91",
                "k9k9");
        // SHORT ("k9") is under the 4-byte minimum: never masked.
        assertEquals(new Redacted("raw *** b64 *** url *** json *** pct *** k9k9",
                List.of("GREETER_SIGNATURE", "UNI")), ax.secrets().redact(text));
        assertEquals(new Redacted("nothing here", List.of()), ax.secrets().redact("nothing here"));
        assertEquals(new Redacted("", List.of()), ax.secrets().redact(""));
    }

    @Test
    void redactMatchesLeftmostLongestAndReportsEveryOwner() {
        AxContext m = MockAxiomContext.of(Map.of("SHORT", "abcd", "LONG", "abcdefgh", "TWIN", "abcd"));
        assertEquals(new Redacted("x***x ***", List.of("LONG", "SHORT", "TWIN")),
                m.secrets().redact("xabcdefghx abcd"));
        AxContext overlap = MockAxiomContext.of(Map.of("A", "aabb", "B", "abbc"));
        assertEquals(new Redacted("***c", List.of("A")), overlap.secrets().redact("aabbc"));
    }

    @Test
    void redactMasksWhatJavaItselfPrints() {
        String value = "p@ss w/\u00fc<&>'\"*~";
        AxContext m = MockAxiomContext.of(Map.of("V", value));
        String text = "q=" + java.net.URLEncoder.encode(value, StandardCharsets.UTF_8) + "&x=1";
        assertEquals(new Redacted("q=***&x=1", List.of("V")), m.secrets().redact(text));
    }

    @Test
    void redactNeverMasksAValueUnderFourBytes() {
        assertEquals(new Redacted("k9k9 k9", List.of()), ax.secrets().redact("k9k9 k9"));
    }

    @Test
    void redactNeverMatchesAnEmptyValue() {
        AxContext m = MockAxiomContext.of(Map.of("EMPTY", ""));
        assertEquals(new Redacted("text", List.of()), m.secrets().redact("text"));
    }

    @Test
    void theRedactorMatchesTheSidecarsOwnTest() {
        // sidecar/src/redact.rs: replaces_values_and_their_encodings
        Redactor r = new Redactor(Map.of("A", "p@ss/wörd", "B", "token-123"));
        String text =
                "raw p@ss/wörd b64 cEBzcy93w7ZyZA== url p%40ss%2Fw%C3%B6rd json p@ss/w\\u00f6rd";
        assertEquals(new Redacted("raw *** b64 *** url *** json ***", List.of("A")), r.redact(text));
    }

    @Test
    void theEncodingsMatchTheSidecars() {
        // sidecar/src/encodings.rs tests
        assertEquals(List.of("a\"b\\c\nd\u0001", "YSJiXGMKZAE=", "YSJiXGMKZAE", "YSJiXGMKZAE=",
                "YSJiXGMKZAE", "a\\\"b\\\\c\\nd\\u0001", "a\\\"b\\\\c\\nd\\u0001",
                "a%22b%5Cc%0Ad%01"), Encodings.forms("a\"b\\c\nd\u0001").subList(0, 8));
        assertEquals("grüß 🌍", Encodings.jsonEscaped("grüß 🌍", false));
        assertEquals("gr\\u00fc\\u00df \\ud83c\\udf0d", Encodings.jsonEscaped("grüß 🌍", true));
        assertEquals("\\b\\f\\r\\t\u007f", Encodings.jsonEscaped("\b\f\r\t\u007f", true));
        assertEquals("a-b.c_d~e", Encodings.percentEncoded("a-b.c_d~e".getBytes(StandardCharsets.UTF_8)));
        assertEquals("p%40ss%20w%2F%C3%BC",
                Encodings.percentEncoded("p@ss w/ü".getBytes(StandardCharsets.UTF_8)));
        List<String> fb = Encodings.forms("\u00fb\u00ff"); // not the bytes fb ff, but close
        assertEquals(23, fb.size());
    }

    @Test
    void aKeyThatIsNotANameIsRefusedWithoutShowingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MockAxiomContext.of(Map.of("sk-live-123", "v")));
        assertFalse(e.getMessage().contains("sk-live"), e.getMessage());
        assertTrue(e.getMessage().contains("BadCharacter"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MockAxiomContext.of(Map.of("", "v")));
    }

    @Test
    void aValueWithALoneSurrogateIsRefusedWithoutShowingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MockAxiomContext.of(Map.of("A", "hunter2\uD800")));
        assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ax.secrets().redact("\uDC00x"));
        assertThrows(IllegalArgumentException.class, () -> ax.secrets().render("x\uD800"));
    }

    @Test
    void toStringShowsNamesNeverValues() {
        String shown = ax + " " + ax.secrets() + " "
                + ax.secrets().render("{{secrets.GREETER_SIGNATURE}}") + " "
                + ax.secrets().redact("test-sig") + " " + ax.secrets().list();
        assertTrue(shown.contains("GREETER_SIGNATURE"), shown);
        assertFalse(shown.contains("test-sig"), shown);
        assertFalse(shown.contains("k9"), shown);
    }

    @Test
    void theMockIsSafeToShareBetweenThreads() throws Exception {
        List<Thread> threads = new ArrayList<>();
        List<String> wrong = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 8; t++) {
            Thread thread = new Thread(() -> {
                for (int i = 0; i < 200; i++) {
                    if (!ax.secrets().redact("k9 test-sig").text().equals("k9 ***")) {
                        wrong.add("redact");
                    }
                }
            });
            threads.add(thread);
            thread.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(List.of(), wrong);
    }

    // ---------------------------------------------------------------------------------------
    // The conformance scenarios, in process, on the mock (the runner does it across processes).

    private static Map<String, String> effectiveValues() throws Exception {
        Path file = Workspace.root().resolve("integration/conformance/secrets.json");
        Map<String, Object> doc = object(Json.parse(Files.readString(file, StandardCharsets.UTF_8)));
        Map<String, String> merged = new LinkedHashMap<>();
        for (String part : List.of("secrets", "overrides")) {
            object(doc.get(part)).forEach((name, v) -> merged.put(name,
                    v instanceof String s ? s : (String) object(v).get("value")));
        }
        return merged;
    }

    @TestFactory
    Stream<DynamicTest> theConformanceScenariosPassOnTheMock() throws Exception {
        Path file = Workspace.root().resolve("integration/conformance/scenarios.json");
        Map<String, Object> doc = object(Json.parse(Files.readString(file, StandardCharsets.UTF_8)));
        Map<String, String> values = effectiveValues();
        List<DynamicTest> tests = new ArrayList<>();
        for (Object s : array(doc.get("scenarios"))) {
            Map<String, Object> scenario = object(s);
            if (Boolean.TRUE.equals(scenario.get("live_only"))) {
                continue;
            }
            tests.add(DynamicTest.dynamicTest((String) scenario.get("name"), () -> {
                AxContext mock = MockAxiomContext.of(values);
                int number = 0;
                for (Object st : array(scenario.get("steps"))) {
                    Map<String, Object> step = object(st);
                    number++;
                    Object answer = Driver.answer(mock, object(step.get("request")));
                    assertEquals(step.get("expect"), answer, "step " + number);
                }
            }));
        }
        assertTrue(tests.size() >= 10, "scenarios found");
        return tests.stream();
    }
}
