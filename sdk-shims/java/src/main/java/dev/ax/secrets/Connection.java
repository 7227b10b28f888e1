package dev.ax.secrets;

import dev.ax.secrets.wire.Codec;
import dev.ax.secrets.wire.Limits;
import dev.ax.secrets.wire.WireException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.SocketChannel;

/**
 * One Unix-socket connection to the sidecar: write a frame, read a frame. Not thread-safe: the
 * client locks around each request and its response.
 *
 * <p>This layer knows nothing of handshakes or retries; it only tells apart the failures the
 * retry rules care about: nothing of the request was written ({@link NotSent}), or the
 * connection broke once a request was on its way ({@link Broken}). A Unix stream socket whose
 * peer has closed refuses the very first write with {@code EPIPE}, so a connection the sidecar
 * closed while idle (idle timeout, restart) shows up as {@code NotSent}, with no probe before
 * each request.
 *
 * <p>Reads go through one buffer of {@value #BUFFER} bytes, reused: a frame that fits is
 * decoded in place, a larger one is read straight into an array of its announced size (once
 * that size has passed the response limit).
 */
final class Connection {
    static final int BUFFER = 64 * 1024;

    /** Nothing of the request was written: the peer had closed the connection. */
    static final class NotSent extends Exception {
        private static final long serialVersionUID = 1L;

        NotSent(String reason) {
            super(reason, null, false, false);
        }
    }

    /** The connection broke after a request was (partly) written, or while reading. */
    static final class Broken extends Exception {
        private static final long serialVersionUID = 1L;

        /** Whether it broke because the calling thread was interrupted. */
        final boolean interrupted;

        Broken(String reason, boolean interrupted) {
            super(reason, null, false, false);
            this.interrupted = interrupted;
        }
    }

    private final SocketChannel channel;
    private final byte[] in = new byte[BUFFER];
    private final ByteBuffer inView = ByteBuffer.wrap(in);
    private int start;
    private int end;
    private byte[] outArray;
    private ByteBuffer outView;

    /** After {@link #readFrame()}: the body is {@code bodyArray[bodyOffset, +bodyLength)}. */
    byte[] bodyArray;

    int bodyOffset;
    int bodyLength;

    private Connection(SocketChannel channel) {
        this.channel = channel;
    }

    /** Connects to the Unix socket at {@code path}, in blocking mode. */
    static Connection open(String path) throws IOException {
        UnixDomainSocketAddress address = UnixDomainSocketAddress.of(path);
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(address);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        return new Connection(channel);
    }

    boolean isOpen() {
        return channel.isOpen();
    }

    /** Whether bytes arrived that no request asked for: the stream is out of step. */
    boolean hasUnreadBytes() {
        return end > start;
    }

    void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // Nothing to do: the descriptor is released either way.
        }
    }

    /** Writes {@code data[0, length)}, usually in one system call. */
    void send(byte[] data, int length) throws NotSent, Broken {
        if (outArray != data) {
            outArray = data;
            outView = ByteBuffer.wrap(data);
        }
        ByteBuffer out = outView;
        out.clear().limit(length);
        try {
            channel.write(out);
        } catch (ClosedByInterruptException e) {
            throw new Broken("interrupted", true);
        } catch (AsynchronousCloseException e) {
            throw new Broken("closed by this process", false);
        } catch (IOException e) {
            if (out.position() == 0) {
                throw new NotSent(describe(e));
            }
            throw new Broken(describe(e), false);
        }
        try {
            while (out.hasRemaining()) {
                channel.write(out);
            }
        } catch (ClosedByInterruptException e) {
            throw new Broken("interrupted", true);
        } catch (IOException e) {
            throw new Broken(describe(e), false);
        }
    }

    /**
     * Reads the next frame; its body is then in {@link #bodyArray}, valid until the next read.
     *
     * @throws WireException {@code FrameTooLarge}, before the body is read
     */
    void readFrame() throws Broken, WireException {
        try {
            while (end - start < Limits.FRAME_HEADER_LEN) {
                fill();
            }
            int length = Codec.announcedLength(in, start, Limits.MAX_RESPONSE_BODY);
            int total = Limits.FRAME_HEADER_LEN + length;
            if (total <= in.length) {
                if (start + total > in.length) {
                    compact();
                }
                while (end - start < total) {
                    fill();
                }
                bodyArray = in;
                bodyOffset = start + Limits.FRAME_HEADER_LEN;
                bodyLength = length;
                start += total;
                if (start == end) {
                    start = 0;
                    end = 0;
                }
                return;
            }
            byte[] body = new byte[length];
            int have = end - start - Limits.FRAME_HEADER_LEN;
            System.arraycopy(in, start + Limits.FRAME_HEADER_LEN, body, 0, have);
            start = 0;
            end = 0;
            ByteBuffer rest = ByteBuffer.wrap(body, have, length - have);
            while (rest.hasRemaining()) {
                if (channel.read(rest) < 0) {
                    throw new Broken("end of stream", false);
                }
            }
            bodyArray = body;
            bodyOffset = 0;
            bodyLength = length;
        } catch (ClosedByInterruptException e) {
            throw new Broken("interrupted", true);
        } catch (AsynchronousCloseException e) {
            throw new Broken("closed by this process", false);
        } catch (IOException e) {
            throw new Broken(describe(e), false);
        }
    }

    private void fill() throws IOException, Broken {
        if (end == in.length) {
            compact();
        }
        inView.limit(in.length).position(end);
        int n = channel.read(inView);
        if (n < 0) {
            throw new Broken("end of stream", false);
        }
        end += n;
    }

    private void compact() {
        System.arraycopy(in, start, in, 0, end - start);
        end -= start;
        start = 0;
    }

    /** An I/O failure in a few words: the OS's reason, else the exception's type. */
    static String describe(Exception e) {
        String message = e.getMessage();
        return message == null || message.isEmpty() ? e.getClass().getSimpleName() : message;
    }

    @Override
    public String toString() {
        return "Connection[open=" + channel.isOpen() + "]";
    }
}
