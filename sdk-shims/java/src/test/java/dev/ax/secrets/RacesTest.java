package dev.ax.secrets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ax.secrets.FakeSidecar.Peer;
import dev.ax.secrets.wire.Codec;
import dev.ax.secrets.wire.Request;
import dev.ax.secrets.wire.Response;
import dev.ax.secrets.wire.ResponseBody;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The races of PROTOCOL.md §7.3 and §7.4 against a scripted fake sidecar that counts how often
 * a request arrived: an id-0 error read after a failed write, resend once on a reused connection
 * only, a refused uid told from a refused token (§7.1), and an over-long socket path.
 */
class RacesTest {
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

    private static void serveGets(Peer peer, String value) throws Exception {
        Request request;
        while ((request = peer.read()) != null) {
            peer.answer(request.id(), new ResponseBody.Secret(value));
        }
    }

    /** What the fake does to the second request of the first connection (by its id). */
    interface Then {
        void apply(Peer peer, long id) throws Exception;
    }

    /**
     * A fake whose first connection answers its first Get with "first" and does {@code then}
     * to the second; every later connection answers "resent".
     */
    private FakeSidecar reusedThen(Then then) throws Exception {
        return fake((i, peer) -> {
            peer.handshake();
            if (i == 0) {
                Request first = peer.read();
                peer.answer(first.id(), new ResponseBody.Secret("first"));
                Request second = peer.read();
                then.apply(peer, second.id());
            } else {
                serveGets(peer, "resent");
            }
        });
    }

    private static SecretsUnavailableException failure(AxiomContext ax, String name) {
        return assertThrows(SecretsUnavailableException.class, () -> ax.secrets().get(name));
    }

    @Test
    void aRequestOnAReusedConnectionClosedBeforeAnsweringIsResentOnce() throws Exception {
        FakeSidecar f = reusedThen((peer, id) -> {}); // the script returns: closed unanswered
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            assertEquals(Optional.of("first"), ax.secrets().get("A"));
            assertEquals(Optional.of("resent"), ax.secrets().get("B"));
        }
        f.awaitClosed(2);
        assertEquals(2, f.getsOf("B"));
        assertEquals(2, f.connections());
    }

    @Test
    void anIdZeroShuttingDownOnAReusedConnectionIsResentOnce() throws Exception {
        FakeSidecar f = reusedThen((peer, id) -> peer.error(0, ErrorCode.SHUTTING_DOWN));
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            assertEquals(Optional.of("first"), ax.secrets().get("A"));
            assertEquals(Optional.of("resent"), ax.secrets().get("B"));
        }
        f.awaitClosed(2);
        assertEquals(2, f.getsOf("B"));
    }

    @Test
    void aResentRequestIsNotResentASecondTime() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            Request request = peer.read();
            if (i == 0) {
                peer.answer(request.id(), new ResponseBody.Secret("first"));
                peer.read();
            }
            // The second Get is closed unanswered on the first connection and on the fresh one.
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            assertEquals(Optional.of("first"), ax.secrets().get("A"));
            SecretsUnavailableException e = failure(ax, "B");
            assertEquals(Optional.empty(), e.code());
        }
        f.awaitClosed(2);
        assertEquals(2, f.getsOf("B"));
        assertEquals(2, f.connections());
    }

    @Test
    void anAnswerCutAfterItsFirstByteIsNotResent() throws Exception {
        FakeSidecar f = reusedThen((peer, id) -> {
            byte[] frame = Codec.encodeResponseFrame(
                    new Response(id, new ResponseBody.Secret("never whole")));
            peer.raw(Arrays.copyOf(frame, 1));
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            assertEquals(Optional.of("first"), ax.secrets().get("A"));
            SecretsUnavailableException e = failure(ax, "B");
            assertTrue(e.getMessage().contains(f.path), e.getMessage());
            assertEquals(Optional.empty(), e.code());
        }
        f.awaitClosed(1);
        assertEquals(1, f.getsOf("B"));
        assertEquals(1, f.connections());
    }

    @Test
    void aCallOnAReusedConnectionClosedByThisProcessIsNotResent() throws Exception {
        CountDownLatch asked = new CountDownLatch(1);
        FakeSidecar f = reusedThen((peer, id) -> {
            asked.countDown();
            assertNull(peer.read(), "the client hangs up"); // and nothing is answered
        });
        AxiomContext ax = new AxiomContext(f.path, null);
        assertEquals(Optional.of("first"), ax.secrets().get("A"));
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            try {
                ax.secrets().get("B");
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        caller.start();
        assertTrue(asked.await(30, TimeUnit.SECONDS));
        ax.close();
        caller.join(30_000);
        assertFalse(caller.isAlive(), "the call in flight returned");
        assertTrue(thrown.get() instanceof SecretsUnavailableException, "" + thrown.get());
        f.awaitClosed(1);
        assertEquals(1, f.getsOf("B"));
        assertEquals(1, f.connections());
    }

    @Test
    void aRequestOnAFreshConnectionClosedBeforeAnsweringIsNotResent() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            peer.read(); // and hang up without answering
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            SecretsUnavailableException e = failure(ax, "A");
            assertEquals(Optional.empty(), e.code());
        }
        f.awaitClosed(1);
        assertEquals(1, f.getsOf("A"));
        assertEquals(1, f.connections());
    }

    @Test
    void anIdZeroShuttingDownOnAFreshConnectionIsNotResent() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            peer.handshake();
            peer.read();
            peer.error(0, ErrorCode.SHUTTING_DOWN);
        });
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            assertEquals(Optional.of(ErrorCode.SHUTTING_DOWN), failure(ax, "A").code());
        }
        f.awaitClosed(1);
        assertEquals(1, f.getsOf("A"));
        assertEquals(1, f.connections());
    }

    @Test
    void shuttingDownUnderTheRequestsIdIsReportedAndNotResent() throws Exception {
        FakeSidecar f = reusedThen((peer, id) -> peer.error(id, ErrorCode.SHUTTING_DOWN));
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            assertEquals(Optional.of("first"), ax.secrets().get("A"));
            assertEquals(Optional.of(ErrorCode.SHUTTING_DOWN), failure(ax, "B").code());
        }
        f.awaitClosed(1);
        assertEquals(1, f.getsOf("B"));
    }

    @Test
    void busyAtConnectIsReportedAsBusyAndNotRetried() throws Exception {
        FakeSidecar f = fake((i, peer) -> peer.error(0, ErrorCode.BUSY));
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            SecretsUnavailableException e = failure(ax, "A");
            assertEquals(Optional.of(ErrorCode.BUSY), e.code());
            assertTrue(e.getMessage().contains(f.path), e.getMessage());
        }
        f.awaitClosed(1);
        assertEquals(1, f.connections());
    }

    @Test
    void busyOnAReusedConnectionIsNotResent() throws Exception {
        FakeSidecar f = reusedThen((peer, id) -> peer.error(0, ErrorCode.BUSY));
        try (AxiomContext ax = new AxiomContext(f.path, null)) {
            assertEquals(Optional.of("first"), ax.secrets().get("A"));
            assertEquals(Optional.of(ErrorCode.BUSY), failure(ax, "B").code());
        }
        f.awaitClosed(1);
        assertEquals(1, f.getsOf("B"));
        assertEquals(1, f.connections());
    }

    /**
     * The sidecar at its cap writes {@code Busy} and closes <em>before</em> the Hello is
     * written, so that write fails for certain: the test opens the connection itself and waits
     * for the fake to close it before the client's handshake writes (a fake behind a listener
     * cannot force that order otherwise: connecting returns before the fake accepts).
     */
    @Test
    void busyWrittenAndClosedBeforeTheHelloWriteIsReportedAsBusy() throws Exception {
        FakeSidecar f = fake((i, peer) -> peer.error(0, ErrorCode.BUSY));
        Connection c = Connection.open(f.path);
        f.awaitClosed(1);
        SidecarClient client = new SidecarClient(f.path, null);
        SecretsUnavailableException e =
                assertThrows(SecretsUnavailableException.class, () -> client.handshake(c));
        assertEquals(Optional.of(ErrorCode.BUSY), e.code());
        assertTrue(e.getMessage().contains("did not serve Hello (error Busy)"), e.getMessage());
    }

    @Test
    void aHelloWriteThatFailsWithNothingToReadIsATransportError() throws Exception {
        FakeSidecar f = fake((i, peer) -> {});
        Connection c = Connection.open(f.path);
        f.awaitClosed(1);
        SidecarClient client = new SidecarClient(f.path, null);
        SecretsUnavailableException e =
                assertThrows(SecretsUnavailableException.class, () -> client.handshake(c));
        assertEquals(Optional.empty(), e.code());
        assertTrue(e.getMessage().contains("before answering Hello"), e.getMessage());
    }

    @Test
    void anUnauthorizedWithIdZeroIsARefusedUid() throws Exception {
        FakeSidecar f = fake((i, peer) -> peer.error(0, ErrorCode.UNAUTHORIZED));
        long uid = new com.sun.security.auth.module.UnixSystem().getUid();
        try (AxiomContext ax = new AxiomContext(f.path, "tok-1")) {
            SecretsUnavailableException e = failure(ax, "A");
            assertEquals(Optional.of(ErrorCode.UNAUTHORIZED), e.code());
            assertEquals("ax-secrets: the sidecar at " + f.path + " refused this process's uid "
                    + uid + " (not allowed to connect)", e.getMessage());
            assertFalse(e.getMessage().contains("token"), e.getMessage());
        }
        f.awaitClosed(1);
        assertEquals(1, f.connections());
    }

    @Test
    void anUnauthorizedUnderTheHellosIdIsARefusedToken() throws Exception {
        FakeSidecar f = fake((i, peer) -> {
            Request hello = peer.read();
            peer.error(hello.id(), ErrorCode.UNAUTHORIZED);
        });
        try (AxiomContext ax = new AxiomContext(f.path, "tok-1")) {
            SecretsUnavailableException e = failure(ax, "A");
            assertEquals(Optional.of(ErrorCode.UNAUTHORIZED), e.code());
            assertTrue(e.getMessage().contains("token"), e.getMessage());
            assertFalse(e.getMessage().contains("uid"), e.getMessage());
        }
    }

    @Test
    void anOverLongSocketPathIsATypedErrorBeforeConnecting() {
        String path = "/tmp/" + "x".repeat(126) + ".sock";
        assertEquals(136, path.length());
        try (AxiomContext ax = new AxiomContext(path, null)) {
            SecretsUnavailableException e = failure(ax, "A");
            assertEquals("ax-secrets: socket path " + path
                    + " is 136 bytes; a Unix socket path holds at most 107", e.getMessage());
            assertEquals(Optional.empty(), e.code());
            assertEquals(Optional.of(path), e.socketPath());
        }
    }

    @Test
    void aSocketPathIsMeasuredInBytesOfItsUtf8() {
        String path = "/tmp/" + "é".repeat(51) + ".sock"; // 61 characters, 112 bytes
        try (AxiomContext ax = new AxiomContext(path, null)) {
            SecretsUnavailableException e = failure(ax, "A");
            assertTrue(e.getMessage().contains("is 112 bytes"), e.getMessage());
        }
    }
}
