package dev.ax.secrets;

import dev.ax.secrets.wire.Codec;
import dev.ax.secrets.wire.Limits;
import dev.ax.secrets.wire.Request;
import dev.ax.secrets.wire.RequestBody;
import dev.ax.secrets.wire.Response;
import dev.ax.secrets.wire.ResponseBody;
import dev.ax.secrets.wire.WireException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A scripted stand-in for the sidecar, for the client's edge cases: one thread accepting on a
 * Unix socket, each connection handed in turn to a test-supplied script with helpers to read
 * requests and write responses. The connection is closed when the script returns. Every request
 * read is recorded, so a test can count how often one arrived.
 */
final class FakeSidecar {
    /** Serves connection number {@code index} (from 0). */
    interface Script {
        void serve(int index, Peer peer) throws Exception;
    }

    /** One accepted connection, seen from the fake sidecar. */
    static final class Peer {
        final SocketChannel channel;
        private final List<Request> seen;

        Peer(SocketChannel channel, List<Request> seen) {
            this.channel = channel;
            this.seen = seen;
        }

        private boolean readFully(ByteBuffer buffer) throws IOException {
            while (buffer.hasRemaining()) {
                if (channel.read(buffer) < 0) {
                    return false;
                }
            }
            return true;
        }

        /** The next request, or null at end of stream. */
        Request read() throws IOException, WireException {
            ByteBuffer header = ByteBuffer.allocate(Limits.FRAME_HEADER_LEN);
            if (!readFully(header)) {
                return null;
            }
            int length = header.getInt(0);
            ByteBuffer body = ByteBuffer.allocate(length);
            if (!readFully(body)) {
                return null;
            }
            Request request = Codec.decodeRequest(body.array(), 0, length);
            seen.add(request);
            return request;
        }

        void raw(byte[] bytes) throws IOException {
            ByteBuffer out = ByteBuffer.wrap(bytes);
            while (out.hasRemaining()) {
                channel.write(out);
            }
        }

        void answer(long id, ResponseBody body) throws IOException {
            raw(Codec.encodeResponseFrame(new Response(id, body)));
        }

        Request handshake() throws Exception {
            Request hello = read();
            if (hello == null) {
                throw new IllegalStateException("no Hello");
            }
            answer(hello.id(),
                    new ResponseBody.Hello(Limits.PROTOCOL_VERSION, "fake/0", "exec-fake"));
            return hello;
        }

        void error(long id, ErrorCode code) throws IOException {
            answer(id, new ResponseBody.Error(code, code.wireName() + " from the fake"));
        }
    }

    private final Path dir;
    final String path;
    private final ServerSocketChannel listener;
    private final Script script;
    private final Thread thread;
    private volatile int connections;
    private final Semaphore closed = new Semaphore(0);
    final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
    private final List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());

    FakeSidecar(Script script) throws IOException {
        this.dir = Files.createTempDirectory("axjava-fake-");
        this.path = dir.resolve("s.sock").toString();
        this.script = script;
        listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        listener.bind(UnixDomainSocketAddress.of(path));
        thread = new Thread(this::serve, "fake-sidecar");
        thread.setDaemon(true);
        thread.start();
    }

    private void serve() {
        while (true) {
            SocketChannel channel;
            try {
                channel = listener.accept();
            } catch (IOException e) {
                return; // the listener was closed
            }
            int index = connections;
            connections = index + 1;
            try (SocketChannel c = channel) {
                script.serve(index, new Peer(c, requests));
            } catch (Throwable e) { // surfaced by close()
                failures.add(e);
            }
            closed.release();
        }
    }

    /** How many connections were accepted. */
    int connections() {
        return connections;
    }

    /** How many times a {@code Get} of {@code name} arrived, on any connection. */
    long getsOf(String name) {
        synchronized (requests) {
            return requests.stream()
                    .filter(r -> r.body() instanceof RequestBody.Get get && get.name().equals(name))
                    .count();
        }
    }

    /** Waits until the fake has closed {@code count} connections in all. */
    void awaitClosed(int count) throws InterruptedException {
        if (!closed.tryAcquire(count, 30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the fake did not close its connections");
        }
        closed.release(count);
    }

    void close() throws Exception {
        listener.close();
        thread.join(10_000);
        Files.deleteIfExists(Path.of(path));
        Files.deleteIfExists(dir);
        if (!failures.isEmpty()) {
            Throwable first = failures.get(0);
            if (first instanceof Exception e) {
                throw e;
            }
            throw new AssertionError(first);
        }
    }
}
