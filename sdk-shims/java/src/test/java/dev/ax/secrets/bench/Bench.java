package dev.ax.secrets.bench;

import dev.ax.secrets.AxiomContext;
import dev.ax.secrets.Secrets;
import dev.ax.secrets.wire.Codec;
import dev.ax.secrets.wire.Limits;
import dev.ax.secrets.wire.Request;
import dev.ax.secrets.wire.RequestBody;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.Optional;

/**
 * What one {@code get} costs through the shim, next to a raw round trip of the same bytes.
 *
 * <p>Usage: {@code java -cp target/classes:target/test-classes dev.ax.secrets.bench.Bench
 * ECHO_SOCKET NAME CALLS} with {@code AX_SECRETS_SOCKET} (and {@code AX_SECRETS_TOKEN}) set for
 * a real sidecar. ECHO_SOCKET answers a Hello frame with a Hello response and any other frame
 * with the sidecar's response bytes for Get(NAME). After 1000 warm-up calls of each, blocks of
 * 1000 raw and 1000 shim calls alternate until CALLS of each; every call is timed with
 * {@link System#nanoTime()}. Prints one JSON line.
 */
public final class Bench {
    private static final int BLOCK = 1000;
    private static final int WARM_UP = 1000;

    private Bench() {}

    private interface Call {
        void run() throws IOException;
    }

    /** The least a Java program can do for the round trip: one write, reads into one buffer. */
    private static final class Raw implements Call {
        private final SocketChannel channel;
        private final ByteBuffer request;
        private ByteBuffer in = ByteBuffer.allocate(64 * 1024);

        Raw(SocketChannel channel, byte[] request) {
            this.channel = channel;
            this.request = ByteBuffer.wrap(request);
        }

        @Override
        public void run() throws IOException {
            request.clear();
            while (request.hasRemaining()) {
                channel.write(request);
            }
            readFrame();
        }

        void readFrame() throws IOException {
            in.clear();
            while (in.position() < Limits.FRAME_HEADER_LEN) {
                read();
            }
            int length = in.getInt(0);
            int total = Limits.FRAME_HEADER_LEN + length;
            if (total > in.capacity()) {
                ByteBuffer bigger = ByteBuffer.allocate(total);
                in.flip();
                bigger.put(in);
                in = bigger;
            }
            while (in.position() < total) {
                read();
            }
        }

        private void read() throws IOException {
            if (channel.read(in) < 0) {
                throw new IOException("the echo server closed the connection");
            }
        }
    }

    private static void timed(Call call, int count, long[] into, int from) throws IOException {
        for (int i = 0; i < count; i++) {
            long start = System.nanoTime();
            call.run();
            into[from + i] = System.nanoTime() - start;
        }
    }

    private static long percentile(long[] sorted, double fraction) {
        return sorted[Math.min(sorted.length - 1, (int) (fraction * sorted.length))];
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 3) {
            System.err.println("usage: Bench ECHO_SOCKET NAME CALLS");
            System.exit(64);
        }
        String name = args[1];
        int calls = Integer.parseInt(args[2]);

        SocketChannel raw = SocketChannel.open(StandardProtocolFamily.UNIX);
        raw.connect(UnixDomainSocketAddress.of(args[0]));
        String token = System.getenv(Limits.TOKEN_ENV);
        token = token == null || token.isEmpty() ? null : token;
        Raw rawCall = new Raw(raw, Codec.encodeRequestFrame(new Request(
                0, new RequestBody.Hello(Limits.PROTOCOL_VERSION, Limits.CLIENT_NAME, token))));
        rawCall.run(); // the handshake
        rawCall = new Raw(raw, Codec.encodeRequestFrame(new Request(1, new RequestBody.Get(name))));

        try (AxiomContext ax = new AxiomContext()) {
            Secrets secrets = ax.secrets();
            if (secrets.get(name).isEmpty()) {
                System.err.println("the sidecar has no secret named " + name);
                System.exit(1);
            }
            Optional<?>[] sink = new Optional<?>[1];
            Call shimCall = () -> sink[0] = secrets.get(name);

            long[] warm = new long[WARM_UP];
            timed(rawCall, WARM_UP, warm, 0);
            timed(shimCall, WARM_UP, warm, 0);
            long[] rawNs = new long[calls];
            long[] shimNs = new long[calls];
            int done = 0;
            while (done < calls) {
                int block = Math.min(BLOCK, calls - done);
                timed(rawCall, block, rawNs, done);
                timed(shimCall, block, shimNs, done);
                done += block;
            }
            if (sink[0].isEmpty()) {
                throw new IllegalStateException("the secret went missing");
            }
            Arrays.sort(rawNs);
            Arrays.sort(shimNs);
            System.out.println("{\"lang\":\"java\",\"calls\":" + calls
                    + ",\"raw_p50_ns\":" + percentile(rawNs, 0.50)
                    + ",\"raw_p99_ns\":" + percentile(rawNs, 0.99)
                    + ",\"shim_p50_ns\":" + percentile(shimNs, 0.50)
                    + ",\"shim_p99_ns\":" + percentile(shimNs, 0.99) + "}");
        } finally {
            raw.close();
        }
    }
}
