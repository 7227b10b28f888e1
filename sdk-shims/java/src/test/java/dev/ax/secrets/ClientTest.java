package dev.ax.secrets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ax.secrets.FakeSidecar.Peer;
import dev.ax.secrets.wire.Codec;
import dev.ax.secrets.wire.Request;
import dev.ax.secrets.wire.RequestBody;
import dev.ax.secrets.wire.Response;
import dev.ax.secrets.wire.ResponseBody;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The client's protocol rules (PROTOCOL.md §7) against a scripted fake sidecar. */
class ClientTest {
    private final List<FakeSidecar> made = new ArrayList<>();

    private FakeSidecar fake(FakeSidecar.Script script) throws Exception {
        FakeSidecar f = new FakeSidecar(script);
        made.add(f);
        return f;
    }

    @AfterEach
    void closeTheFakes() throws Exception {
        for (FakeSidecar f : made) {
            f.close();
        }
    }

    /** Answers every Get with {@code value} until the client hangs up. */
    private static void serveGets(Peer peer, String value) throws Exception {
        Request request;
        while ((request = peer.read()) != null) {
            peer.answer(request.id(), new ResponseBody.Secret(value));
        }
    }

    @Test
    void theHandshakeSendsVersionClientAndTokenOnceAndTheConnectionIsReused() throws Exception {
        List<Request> seen = Collections.synchronizedList(new ArrayList<>());
        FakeSidecar f = fake((i, peer) -> {
            seen.add(peer.handshake());
            serveGets(peer, "v");
        });
        try (AxiomContext ax = new AxiomContext(f.path, "tok-1")) {
            assertEquals(Optional.of("v"), ax.secrets().get("A"));
            assertEquals(Optional.of("v"), ax.secrets().get("B"));
            assertTrue(ax.secrets().exists("C"));
        }
        f.awaitClosed(1);
        assertEquals(1, f.connections(), "one connection, one handshake, reused");
        assertEquals(new Request(1, new RequestBody.Hello(2, "java/0.1.0", "tok-1")), seen.get(0),
                "a Hello's id is never 0");
    }

    @Test
    void nothingConnectsBeforeTheFirstCall() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            serveGets(peer, "v");
        });
        AxiomContext ax = new AxiomContext(f.path, null);
        assertEquals(0, f.connections());
        assertEquals(Optional.of("v"), ax.secrets().get("A"));
        ax.close();
        f.awaitClosed(1);
        assertEquals(1, f.connections());
    }

    @Test
    void anEmptyTokenIsSentAsNone() throws Exception {
        List<Request> seen = Collections.synchronizedList(new ArrayList<>());
        FakeSidecar f = fake((i, peer) -> {
            seen.add(peer.handshake());
            serveGets(peer, "v");
        });
        try (AxiomContext ax = AxiomContext.fromEnvironment(
                Map.of("AX_SECRETS_SOCKET", f.path, "AX_SECRETS_TOKEN", ""))) {
            ax.secrets().get("A");
        }
        assertNull(((RequestBody.Hello) seen.get(0).body()).token());
    }

    @Test
    void requestIdsCountUpFromOne() throws Exception {
        List<Request> requests = Collections.synchronizedList(new ArrayList<>());
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            Request request;
            while ((request = peer.read()) != null) {
                requests.add(request);
                peer.answer(request.id(), request.body() instanceof RequestBody.Get
                        ? new ResponseBody.Secret(null)
                        : new ResponseBody.SecretList(List.of()));
            }
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            ax.secrets().get("A");
            ax.secrets().get("OPENAI_API_KEY");
            ax.secrets().list();
        }
        f.awaitClosed(1);
        assertEquals(new Request(1, new RequestBody.Get("A")), requests.get(0));
        assertEquals(new Request(2, new RequestBody.Get("OPENAI_API_KEY")), requests.get(1));
        assertEquals(3, requests.get(2).id());
    }

    @Test
    void anIdMismatchDropsTheConnectionAndTheNextCallReconnects() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            Request request = peer.read();
            if (i == 0) {
                peer.answer(request.id() + 1, new ResponseBody.Secret("wrong"));
                assertNull(peer.read(), "the client hung up");
            } else {
                peer.answer(request.id(), new ResponseBody.Secret("right"));
            }
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            SecretsUnavailableException e = assertThrows(SecretsUnavailableException.class,
                    () -> ax.secrets().get("A"));
            assertTrue(e.getMessage().contains("answered request 1 with id 2"), e.getMessage());
            assertFalse(e.getMessage().contains("wrong"));
            assertEquals(Optional.of("right"), ax.secrets().get("A"));
        }
        assertEquals(2, f.connections());
    }

    @Test
    void anErrorWithIdZeroIsTakenAsTheAnswer() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            peer.read();
            peer.error(0, ErrorCode.BAD_REQUEST);
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            SecretsUnavailableException e = assertThrows(SecretsUnavailableException.class,
                    () -> ax.secrets().get("A"));
            assertEquals(Optional.of(ErrorCode.BAD_REQUEST), e.code());
            assertTrue(e.getMessage().contains("refused Get with error BadRequest"), e.getMessage());
        }
    }

    @Test
    void aRefusedTokenIsATypedErrorWithItsCode() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            Request hello = peer.read();
            peer.error(hello.id(), ErrorCode.UNAUTHORIZED);
        });
        try (AxiomContext ax = new AxiomContext(f.path, "secret-token-value")) {
            SecretsUnavailableException e = assertThrows(SecretsUnavailableException.class,
                    () -> ax.secrets().list());
            assertEquals("ax-secrets: the sidecar at " + f.path
                    + " refused the client token (missing or wrong)", e.getMessage());
            assertEquals(Optional.of(ErrorCode.UNAUTHORIZED), e.code());
        }
        assertEquals(1, f.connections(), "a refused token is not retried");
    }

    @Test
    void aRequestIsNotResentWhenTheConnectionBreaksAfterWriting() throws Exception {
        List<Request> requests = Collections.synchronizedList(new ArrayList<>());
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            requests.add(peer.read()); // and hang up without answering
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            SecretsUnavailableException e = assertThrows(SecretsUnavailableException.class,
                    () -> ax.secrets().get("A"));
            assertTrue(e.getMessage().contains("closed the connection before answering Get"),
                    e.getMessage());
        }
        assertEquals(List.of(new Request(1, new RequestBody.Get("A"))), requests);
        assertEquals(1, f.connections());
    }

    @Test
    void aConnectionClosedWhileIdleIsReplacedBeforeSending() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            Request request = peer.read();
            peer.answer(request.id(), new ResponseBody.Secret("conn" + i));
            // then close: the client finds it closed before its next request
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            assertEquals(Optional.of("conn0"), ax.secrets().get("A"));
            f.awaitClosed(1);
            assertEquals(Optional.of("conn1"), ax.secrets().get("A"));
        }
        assertEquals(2, f.connections());
    }

    @Test
    void aResentRequestThatFailsOnTheFreshConnectionIsATypedError() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            if (i == 0) {
                peer.handshake();
                Request request = peer.read();
                peer.answer(request.id(), new ResponseBody.Secret("first"));
                return;
            }
            // Handshakes, then hangs up before the request is written.
            peer.handshake();
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            assertEquals(Optional.of("first"), ax.secrets().get("A"));
            f.awaitClosed(1);
            SecretsUnavailableException e = assertThrows(SecretsUnavailableException.class,
                    () -> ax.secrets().get("A"));
            assertTrue(e.getMessage().contains(f.path), e.getMessage());
        }
        assertEquals(2, f.connections(), "one reconnection, no more");
    }

    @Test
    void anUnexpectedAnswerKindIsATypedError() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            Request request = peer.read();
            peer.answer(request.id(), ResponseBody.Pong.INSTANCE);
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            SecretsUnavailableException e = assertThrows(SecretsUnavailableException.class,
                    () -> ax.secrets().get("A"));
            assertTrue(e.getMessage().contains("answered Get with Pong"), e.getMessage());
        }
    }

    @Test
    void aMalformedResponseIsATypedError() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            peer.read();
            peer.raw(java.util.HexFormat.of().parseHex("0000000401010200")); // option tag 02
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            SecretsUnavailableException e = assertThrows(SecretsUnavailableException.class,
                    () -> ax.secrets().get("A"));
            assertTrue(e.getMessage().contains("InvalidOptionTag"), e.getMessage());
        }
    }

    @Test
    void aFrameOverTheResponseLimitIsRefusedUnread() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            peer.read();
            peer.raw(java.util.HexFormat.of().parseHex("01000001")); // 16 MiB + 1
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            SecretsUnavailableException e = assertThrows(SecretsUnavailableException.class,
                    () -> ax.secrets().get("A"));
            assertTrue(e.getMessage().contains("FrameTooLarge"), e.getMessage());
        }
    }

    @Test
    void anotherProtocolVersionIsRefused() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            Request hello = peer.read();
            peer.answer(hello.id(), new ResponseBody.Hello(3, "future", "exec"));
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            SecretsUnavailableException e = assertThrows(SecretsUnavailableException.class,
                    () -> ax.secrets().get("A"));
            assertTrue(e.getMessage().contains("version 3, not 2"), e.getMessage());
        }
    }

    @Test
    void internalErrorsKeepTheConnection() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            Request first = peer.read();
            peer.error(first.id(), ErrorCode.INTERNAL);
            serveGets(peer, "after");
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            SecretsUnavailableException e = assertThrows(SecretsUnavailableException.class,
                    () -> ax.secrets().get("A"));
            assertEquals(Optional.of(ErrorCode.INTERNAL), e.code());
            assertEquals(Optional.of("after"), ax.secrets().get("A"));
        }
        assertEquals(1, f.connections());
    }

    @Test
    void framesSplitAtEveryByteAreReassembled() throws Exception {
        String value = "v".repeat(200) + "é🔑";
        byte[] frame = Codec.encodeResponseFrame(new Response(1, new ResponseBody.Secret(value)));
        byte[] second = Codec.encodeResponseFrame(new Response(2, new ResponseBody.Secret(null)));
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            peer.read();
            for (byte b : frame) {
                peer.raw(new byte[] {b});
            }
            peer.read();
            peer.raw(second);
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            assertEquals(Optional.of(value), ax.secrets().get("A"));
            assertEquals(Optional.empty(), ax.secrets().get("B"));
        }
    }

    @Test
    void aResponseLargerThanTheReadBufferIsReadWhole() throws Exception {
        String text = "0123456789abcdef".repeat(300_000 / 16); // 4.6x the buffer
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            Request request;
            while ((request = peer.read()) != null) {
                peer.answer(request.id(), new ResponseBody.Rendered(text, List.of("X")));
            }
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            assertEquals(new Rendered(text, List.of("X")), ax.secrets().render("{{secrets.X}}"));
            assertEquals(new Rendered(text, List.of("X")), ax.secrets().render("again"));
        }
    }

    @Test
    void aRenderOverTheRequestLimitIsRefusedBeforeConnecting() {
        AxiomContext ax = new AxiomContext("/nonexistent/ax.sock", null);
        String template = "x".repeat(1024 * 1024);
        RequestTooLargeException e = assertThrows(RequestTooLargeException.class,
                () -> ax.secrets().render(template));
        assertTrue(e.getMessage().contains("1048576"), e.getMessage());
        assertFalse(e.getMessage().contains("xxxx"));
        assertThrows(RequestTooLargeException.class,
                () -> ax.secrets().redact("y".repeat(1024 * 1024 - 4)));
    }

    @Test
    void aRequestOfExactlyTheLimitIsSent() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            Request request = peer.read();
            peer.answer(request.id(), new ResponseBody.Redacted("ok", List.of()));
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            // id 1 (1 byte) + tag (1) + length varint (3) + text = 1 MiB exactly
            assertEquals("ok", ax.secrets().redact("r".repeat(1024 * 1024 - 5)).text());
        }
    }

    @Test
    void aLoneSurrogateIsRefusedBeforeSending() {
        AxiomContext ax = new AxiomContext("/nonexistent/ax.sock", null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ax.secrets().redact("hunter2\uD800"));
        assertTrue(e.getMessage().contains("index 7"), e.getMessage());
        assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ax.secrets().render("\uDC00"));
    }

    @Test
    void noSocketConfiguredIsATypedError() {
        AxiomContext ax = AxiomContext.fromEnvironment(Map.of());
        SecretsUnavailableException e = assertThrows(SecretsUnavailableException.class,
                () -> ax.secrets().get("A"));
        assertTrue(e.getMessage().contains("AX_SECRETS_SOCKET is not set"), e.getMessage());
        assertEquals(Optional.empty(), e.socketPath());
    }

    @Test
    void anInvalidNameNeverConnects() {
        AxiomContext ax = new AxiomContext("/nonexistent/ax.sock", null);
        assertEquals(Optional.empty(), ax.secrets().get("not a name"));
        assertFalse(ax.secrets().exists(""));
        assertThrows(NullPointerException.class, () -> ax.secrets().get(null));
    }

    @Test
    void concurrentCallersEachGetTheirOwnAnswer() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            Request request;
            while ((request = peer.read()) != null) {
                String name = ((RequestBody.Get) request.body()).name();
                peer.answer(request.id(), new ResponseBody.Secret("value-of-" + name));
            }
        });
        int threads = 12;
        List<String> wrong = Collections.synchronizedList(new ArrayList<>());
        CyclicBarrier start = new CyclicBarrier(threads);
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            List<Thread> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                String name = "N" + t;
                Thread thread = new Thread(() -> {
                    try {
                        start.await();
                        for (int k = 0; k < 200; k++) {
                            Optional<String> got = ax.secrets().get(name);
                            if (!got.equals(Optional.of("value-of-" + name))) {
                                wrong.add(name + " got " + got.isPresent());
                            }
                        }
                    } catch (Exception e) {
                        wrong.add(name + ": " + e);
                    }
                });
                all.add(thread);
                thread.start();
            }
            for (Thread t : all) {
                t.join();
            }
        }
        assertEquals(List.of(), wrong);
        assertEquals(1, f.connections());
    }

    @Test
    void anInterruptedCallIsATypedErrorAndTheNextCallReconnects() throws Exception {
        CountDownLatch asked = new CountDownLatch(1);
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            Request request = peer.read();
            if (i == 0) {
                asked.countDown();
                assertNull(peer.read(), "the interrupted client hung up");
                return;
            }
            peer.answer(request.id(), new ResponseBody.Secret("fresh"));
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread caller = new Thread(() -> {
                try {
                    ax.secrets().get("A");
                } catch (Throwable e) {
                    thrown.set(e);
                }
            });
            caller.start();
            assertTrue(asked.await(30, TimeUnit.SECONDS));
            caller.interrupt();
            caller.join();
            assertTrue(thrown.get() instanceof SecretsUnavailableException, "" + thrown.get());
            assertTrue(thrown.get().getMessage().contains("interrupted"), thrown.get().getMessage());
            assertEquals(Optional.of("fresh"), ax.secrets().get("A"));
        }
        assertEquals(2, f.connections());
    }

    @Test
    void closeUnblocksACallInFlight() throws Exception {
        CountDownLatch asked = new CountDownLatch(1);
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            peer.read();
            asked.countDown();
            peer.read(); // never answers; returns when the client closes
        });
        AxiomContext ax = new AxiomContext(f.path, null);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            try {
                ax.secrets().get("A");
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        caller.start();
        assertTrue(asked.await(30, TimeUnit.SECONDS));
        ax.close();
        caller.join();
        assertTrue(thrown.get() instanceof SecretsUnavailableException, "" + thrown.get());
    }

    @Test
    void toStringNeverShowsTheToken() {
        AxiomContext ax = new AxiomContext("/run/ax/x.sock", "tok-very-secret");
        String shown = ax + " " + ax.secrets();
        assertTrue(shown.contains("/run/ax/x.sock"), shown);
        assertFalse(shown.contains("tok-very-secret"), shown);
        assertFalse(new RequestBody.Hello(1, "java", "tok-very-secret").toString()
                .contains("tok-very"));
        assertFalse(new ResponseBody.Secret("sk-1").toString().contains("sk-1"));
        assertFalse(new RequestBody.Redact("sk-1").toString().contains("sk-1"));
        assertFalse(new RequestBody.Render("sk-1").toString().contains("sk-1"));
        assertFalse(new ResponseBody.Rendered("sk-1", List.of()).toString().contains("sk-1"));
        assertFalse(new ResponseBody.Redacted("sk-1", List.of()).toString().contains("sk-1"));
    }
}
