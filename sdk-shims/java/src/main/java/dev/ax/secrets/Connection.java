package dev.ax.secrets;

import dev.ax.secrets.wire.Codec;
import dev.ax.secrets.wire.Limits;
import dev.ax.secrets.wire.WireException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;

/**
 * One Unix-socket connection to the sidecar: write a frame, read a frame. Not thread-safe: the
 * client locks around each request and its response.
 *
 * <p>This layer knows nothing of handshakes or retries; it only tells apart the facts the
 * retry rules care about: the write failed ({@link WriteFailed}: the peer had closed, and what
 * it wrote first, such as an id-0 {@code Busy}, may still be readable), the connection broke
 * while reading ({@link Broken}, which says whether any byte of the answer had arrived), and
 * whether the connection already carried an answered request ({@link #isReused()}). A Unix
 * stream socket whose peer has closed refuses the very first write with {@code EPIPE}, so a
 * connection the sidecar closed while idle shows up with no probe before each request.
 *
 * <p>Reads go through one buffer of {@value #BUFFER} bytes, reused: a frame that fits is
 * decoded in place, a larger one is read straight into an array of its announced size (once
 * that size has passed the response limit).
 */
final class Connection {
    static final int BUFFER = 64 * 1024;

    /** Writing failed (EPIPE, ECONNRESET): the peer had closed the connection. */
    static final class WriteFailed extends Exception {
        private static final long serialVersionUID = 1L;

        WriteFailed(String reason) {
            super(reason, null, false, false);
        }
    }

    /** The connection broke while reading, or was interrupted or closed by this process. */
    static final class Broken extends Exception {
        private static final long serialVersionUID = 1L;

        /** Whether it broke because the calling thread was interrupted. */
        final boolean interrupted;

        /** Whether any byte of the frame being read had arrived. */
        final boolean began;

        /**
         * Whether this process broke it (an interrupt, or {@code close()} from another thread):
         * then the sidecar did nothing wrong and the request is never resent.
         */
        final boolean ours;

        Broken(String reason, boolean interrupted) {
            this(reason, interrupted, false, interrupted);
        }

        Broken(String reason, boolean interrupted, boolean began, boolean ours) {
            super(reason, null, false, false);
            this.interrupted = interrupted;
            this.began = began;
            this.ours = ours;
        }
    }

    private final SocketChannel channel;
    private final byte[] in = new byte[BUFFER];
    private final ByteBuffer inView = ByteBuffer.wrap(in);
    private int start;
    private int end;
    private byte[] outArray;
    private ByteBuffer outView;
    /** Whether a request (not the handshake) was answered on this connection. */
    private boolean answered;
    /** Whether a byte of the frame being read arrived. */
    private boolean began;

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

    /**
     * Whether this connection already carried an answered request: only then may a request
     * that fails on it before its answer began be resent (PROTOCOL §7.4).
     */
    boolean isReused() {
        return answered;
    }

    /** Records that a request was answered on this connection. */
    void markAnswered() {
        answered = true;
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
    void send(byte[] data, int length) throws WriteFailed, Broken {
        if (outArray != data) {
            outArray = data;
            outView = ByteBuffer.wrap(data);
        }
        ByteBuffer out = outView;
        out.clear().limit(length);
        try {
            while (out.hasRemaining()) {
                channel.write(out);
            }
        } catch (ClosedByInterruptException e) {
            throw new Broken("interrupted", true);
        } catch (ClosedChannelException e) {
            throw new Broken("closed by this process", false, false, true);
        } catch (IOException e) {
            throw new WriteFailed(describe(e));
        }
    }

    /**
     * Reads the next frame; its body is then in {@link #bodyArray}, valid until the next read.
     *
     * @throws WireException {@code FrameTooLarge}, before the body is read
     */
    void readFrame() throws Broken, WireException {
        began = end > start;
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
                    throw new Broken("end of stream", false, true, false);
                }
            }
            bodyArray = body;
            bodyOffset = 0;
            bodyLength = length;
        } catch (ClosedByInterruptException e) {
            throw new Broken("interrupted", true, began, true);
        } catch (ClosedChannelException e) {
            throw new Broken("closed by this process", false, began, true);
        } catch (IOException e) {
            throw new Broken(describe(e), false, began, false);
        }
    }

    private void fill() throws IOException, Broken {
        if (end == in.length) {
            compact();
        }
        inView.limit(in.length).position(end);
        int n = channel.read(inView);
        if (n < 0) {
            throw new Broken("end of stream", false, began, false);
        }
        if (n > 0) {
            began = true;
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
