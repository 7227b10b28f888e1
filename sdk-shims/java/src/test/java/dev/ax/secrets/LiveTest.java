package dev.ax.secrets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client against a real ax-sidecar built from this repository. */
class LiveTest {
    static final String BIG = "0123456789abcdef".repeat(1024 * 1024 / 16); // exactly 1 MiB
    static final Map<String, Object> SECRETS = new LinkedHashMap<>();
    static final Map<String, Object> OVERRIDES = new LinkedHashMap<>();

    static {
        SECRETS.put("OPENAI_API_KEY", "sk-live-4f2b9c");
        SECRETS.put("EMPTY", "");
        SECRETS.put("UNICODE", "pässwörd-密码-🔑");
        SECRETS.put("DB_URL",
                Map.of("value", "postgres://u:p@db/x", "version", 3L, "updated_at", 1795000000L));
        SECRETS.put("WEBHOOK", "whk_tenant");
        SECRETS.put("SHORT", "k9");
        OVERRIDES.put("WEBHOOK",
                Map.of("value", "whk_override", "version", 9L, "updated_at", 1796000000L));
        OVERRIDES.put("ONLY_OVERRIDE", "only");
    }

    private static Path work;
    private static SidecarProcess shared;
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private final List<SidecarProcess> own = new ArrayList<>();
    private AxiomContext ax;

    @BeforeAll
    static void startTheSharedSidecar() throws Exception {
        // A short private directory of our own: socket paths must stay under 108 bytes.
        work = Files.createTempDirectory("axjava-");
        shared = new SidecarProcess(work.resolve("shared"), SECRETS, OVERRIDES,
                SidecarProcess.newToken());
        shared.start();
    }

    @AfterAll
    static void stopTheSharedSidecar() throws Exception {
        if (shared != null) {
            assertEquals(0, shared.stop(), "the sidecar exits 0 on SIGTERM");
        }
        deleteTree(work);
    }

    @BeforeEach
    void connectToTheSharedSidecar() {
        ax = new AxiomContext(shared.socket(), shared.token());
    }

    @AfterEach
    void closeEverything() throws Exception {
        ax.close();
        for (SidecarProcess s : own) {
            s.stop();
        }
    }

    private SidecarProcess startOwn(Map<String, ?> secrets, Map<String, ?> overrides, String token)
            throws Exception {
        SidecarProcess s = new SidecarProcess(
                work.resolve("s" + COUNTER.incrementAndGet()), secrets, overrides, token);
        own.add(s);
        s.start();
        return s;
    }

    private static void deleteTree(Path root) throws Exception {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(Collections.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Test
    void aSecretIsFoundWithItsValue() {
        assertEquals(Optional.of("sk-live-4f2b9c"), ax.secrets().get("OPENAI_API_KEY"));
        assertTrue(ax.secrets().exists("OPENAI_API_KEY"));
    }

    @Test
    void aMissingSecretIsNotFoundAndNotAnException() {
        assertEquals(Optional.empty(), ax.secrets().get("NOPE"));
        assertFalse(ax.secrets().exists("NOPE"));
    }

    @Test
    void anEmptyValueIsFound() {
        assertEquals(Optional.of(""), ax.secrets().get("EMPTY"));
        assertTrue(ax.secrets().exists("EMPTY"));
    }

    @Test
    void aUnicodeValueComesBackExactly() {
        assertEquals(Optional.of("pässwörd-密码-🔑"), ax.secrets().get("UNICODE"));
    }

    @Test
    void aValueOfOneMebibyteComesBackExactly() throws Exception {
        // A sidecar of its own: redacting with a 1 MiB value is costly for a debug build.
        SidecarProcess big = startOwn(Map.of("BIG", BIG), Map.of(), null);
        try (AxiomContext context = new AxiomContext(big.socket(), null)) {
            assertEquals(Optional.of(BIG), context.secrets().get("BIG"));
            assertEquals(Optional.of(BIG), context.secrets().get("BIG"), "and again, reused");
        }
    }

    @Test
    void anOverrideWins() {
        assertEquals(Optional.of("whk_override"), ax.secrets().get("WEBHOOK"));
        assertEquals(Optional.of("only"), ax.secrets().get("ONLY_OVERRIDE"));
    }

    @Test
    void invalidAndUnicodeNamesAreNotFound() {
        for (String name : List.of("", "1A", "has space", "ключ", "sk-live-4f2b9c", "A".repeat(129))) {
            assertEquals(Optional.empty(), ax.secrets().get(name), name);
        }
    }

    @Test
    void listGivesEveryNameSortedWithItsMetadata() {
        List<SecretInfo> listed = ax.secrets().list();
        List<String> expected = new ArrayList<>(List.of("OPENAI_API_KEY", "EMPTY", "UNICODE",
                "DB_URL", "WEBHOOK", "SHORT", "ONLY_OVERRIDE"));
        Collections.sort(expected);
        assertEquals(expected, ax.secrets().names());
        Map<String, SecretInfo> byName = new HashMap<>();
        for (SecretInfo info : listed) {
            byName.put(info.name(), info);
        }
        assertEquals(new SecretInfo("DB_URL", 3, 1795000000L), byName.get("DB_URL"));
        // An override shows its own metadata and nothing that marks it as an override.
        assertEquals(new SecretInfo("WEBHOOK", 9, 1796000000L), byName.get("WEBHOOK"));
    }

    @Test
    void renderReplacesFoundReferencesAndReportsMissingOnes() {
        Rendered rendered = ax.secrets()
                .render("k={{ secrets.OPENAI_API_KEY }} m={{secrets.M}} {{secrets.M}}");
        assertEquals(new Rendered("k=sk-live-4f2b9c m={{secrets.M}} {{secrets.M}}", List.of("M")),
                rendered);
    }

    @Test
    void redactReplacesValuesAndTheirEncodings() {
        Redacted redacted = ax.secrets()
                .redact("key=sk-live-4f2b9c b64=c2stbGl2ZS00ZjJiOWM= k9k9 whk_tenant");
        // SHORT ("k9") is under the 4-byte minimum: never masked.
        assertEquals(new Redacted("key=*** b64=*** k9k9 whk_tenant",
                List.of("OPENAI_API_KEY")), redacted);
    }

    @Test
    void theMockAgreesWithTheSidecar() {
        Map<String, String> values = new HashMap<>();
        for (String name : ax.secrets().names()) {
            values.put(name, ax.secrets().get(name).orElseThrow());
        }
        MockAxiomContext mock = MockAxiomContext.of(values);
        String text = "pässwörd-密码-🔑 p%C3%A4ssw%C3%B6rd only k9 {{secrets.SHORT}} whk_override "
                + "\"p\\u00e4ssw\\u00f6rd-\\u5bc6\\u7801-\\ud83d\\udd11\" cG9zdGdyZXM6Ly91OnBAZGIveA";
        assertEquals(ax.secrets().redact(text), mock.secrets().redact(text));
        String template = "{{{secrets.SHORT}}} {{ secrets.X }} {{secrets.UNICODE}}{{secrets.EMPTY}}";
        assertEquals(ax.secrets().render(template), mock.secrets().render(template));
    }

    @Test
    void aUidTheSidecarDoesNotAllowIsRefusedAsAUidNotAToken() throws Exception {
        long uid = new com.sun.security.auth.module.UnixSystem().getUid();
        SidecarProcess s = new SidecarProcess(
                work.resolve("s" + COUNTER.incrementAndGet()), Map.of("A", "v"), Map.of(), null);
        own.add(s);
        s.extra.addAll(List.of("--allow-uid", String.valueOf(uid == 4_242_424 ? 4_242_425 : 4_242_424)));
        s.start();
        try (AxiomContext ax = new AxiomContext(s.socket(), null)) {
            SecretsUnavailableException e = assertThrows(SecretsUnavailableException.class,
                    () -> ax.secrets().get("A"));
            assertEquals(Optional.of(ErrorCode.UNAUTHORIZED), e.code());
            assertTrue(e.getMessage().contains("uid " + uid), e.getMessage());
            assertFalse(e.getMessage().contains("token"), e.getMessage());
        }
    }

    @Test
    void aWrongTokenIsATypedErrorNamingTheSocket() {
        AxiomContext wrong = new AxiomContext(shared.socket(), "not-" + shared.token());
        SecretsUnavailableException failed = assertThrows(SecretsUnavailableException.class,
                () -> wrong.secrets().get("OPENAI_API_KEY"));
        assertEquals("ax-secrets: the sidecar at " + shared.socket()
                + " refused the client token (missing or wrong)",
                failed.getMessage());
        assertEquals(Optional.of(shared.socket()), failed.socketPath());
        assertEquals(Optional.of(ErrorCode.UNAUTHORIZED), failed.code());
        assertFalse(failed.getMessage().contains(shared.token()));
    }

    @Test
    void aMissingTokenIsATypedError() {
        AxiomContext none = AxiomContext.fromEnvironment(Map.of("AX_SECRETS_SOCKET", shared.socket()));
        SecretsUnavailableException failed = assertThrows(SecretsUnavailableException.class,
                () -> none.secrets().exists("OPENAI_API_KEY"));
        assertTrue(failed.getMessage().contains("refused the client token"), failed.getMessage());
    }

    @Test
    void theEnvironmentConfiguresTheContext() {
        try (AxiomContext env = AxiomContext.fromEnvironment(Map.of(
                "AX_SECRETS_SOCKET", shared.socket(), "AX_SECRETS_TOKEN", shared.token()))) {
            assertEquals(Optional.of("k9"), env.secrets().get("SHORT"));
        }
    }

    @Test
    void noSidecarIsATypedErrorNamingThePath() {
        String path = work.resolve("nobody.sock").toString();
        SecretsUnavailableException failed = assertThrows(SecretsUnavailableException.class,
                () -> new AxiomContext(path, null).secrets().get("OPENAI_API_KEY"));
        assertTrue(failed.getMessage().contains(path), failed.getMessage());
        assertTrue(failed.getMessage().contains("cannot be reached"), failed.getMessage());
        assertEquals(Optional.of(path), failed.socketPath());
        assertEquals(Optional.empty(), failed.code());
    }

    @Test
    void aRestartedSidecarIsReconnectedTo() throws Exception {
        SidecarProcess s = startOwn(SECRETS, OVERRIDES, null);
        try (AxiomContext context = new AxiomContext(s.socket(), null)) {
            assertEquals(Optional.of("sk-live-4f2b9c"), context.secrets().get("OPENAI_API_KEY"));
            s.restart();
            assertEquals(Optional.of("k9"), context.secrets().get("SHORT"));
            assertEquals(Optional.of("sk-live-4f2b9c"), context.secrets().get("OPENAI_API_KEY"));
        }
    }

    @Test
    void aStoppedSidecarIsATypedError() throws Exception {
        SidecarProcess s = startOwn(SECRETS, OVERRIDES, null);
        AxiomContext context = new AxiomContext(s.socket(), null);
        assertTrue(context.secrets().exists("SHORT"));
        assertEquals(0, s.stop());
        SecretsUnavailableException failed = assertThrows(SecretsUnavailableException.class,
                () -> context.secrets().get("SHORT"));
        assertTrue(failed.getMessage().contains(s.socket()), failed.getMessage());
    }

    @Test
    void concurrentCallersAllGetTheRightValue() throws Exception {
        List<String> names = List.of("OPENAI_API_KEY", "SHORT", "UNICODE", "NOPE");
        Map<String, Optional<String>> expected = new HashMap<>();
        for (String name : names) {
            expected.put(name, ax.secrets().get(name));
        }
        List<String> wrong = Collections.synchronizedList(new ArrayList<>());
        int threads = 16;
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> started = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            String name = names.get(t % names.size());
            Thread thread = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < 50; i++) {
                        Optional<String> got = ax.secrets().get(name);
                        if (!got.equals(expected.get(name))) {
                            wrong.add(name);
                        }
                    }
                } catch (Exception e) {
                    wrong.add(name + ": " + e);
                }
            });
            started.add(thread);
            thread.start();
        }
        for (Thread t : started) {
            t.join();
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void noValueOrTokenInToStringOrErrors() throws Exception {
        SidecarProcess s = startOwn(SECRETS, OVERRIDES, SidecarProcess.newToken());
        AxiomContext context = new AxiomContext(s.socket(), s.token());
        assertEquals("sk-live-4f2b9c", context.secrets().get("OPENAI_API_KEY").orElseThrow());
        Rendered rendered = context.secrets().render("{{secrets.OPENAI_API_KEY}}");
        Redacted redacted = context.secrets().redact("x sk-live-4f2b9c");
        String shown = context + " " + context.secrets() + " " + rendered + " " + redacted;
        assertTrue(shown.contains(s.socket()), shown);
        assertFalse(shown.contains("sk-live"), shown);
        assertFalse(shown.contains(s.token()), shown);
        s.stop();
        SecretsUnavailableException failed = assertThrows(SecretsUnavailableException.class,
                () -> context.secrets().render("secret sk-live-4f2b9c {{secrets.OPENAI_API_KEY}}"));
        assertFalse(failed.getMessage().contains("sk-live"), failed.getMessage());
        assertFalse(failed.toString().contains("sk-live"), failed.toString());
    }

    @Test
    void sealingRefusesANameThatBreaksTheRule() {
        // The same rule on both sides: what the shim refuses locally, a bundle cannot hold.
        assertThrows(IllegalStateException.class,
                () -> startOwn(Map.of("UNI_ключ", "x"), Map.of(), null));
    }
}
