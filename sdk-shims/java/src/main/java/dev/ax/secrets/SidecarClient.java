package dev.ax.secrets;

import dev.ax.secrets.Connection.Broken;
import dev.ax.secrets.Connection.WriteFailed;
import dev.ax.secrets.wire.Codec;
import dev.ax.secrets.wire.Limits;
import dev.ax.secrets.wire.PostcardWriter;
import dev.ax.secrets.wire.RequestBody;
import dev.ax.secrets.wire.Response;
import dev.ax.secrets.wire.ResponseBody;
import dev.ax.secrets.wire.WireException;
import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;

/**
 * Speaks protocol v2 to one sidecar: lazy connection, handshake, request ids, reconnection and
 * errors. Thread-safe: one request is in flight at a time, under a lock.
 *
 * <p>The rules of PROTOCOL.md §7:
 *
 * <ul>
 *   <li>After a failed write (EPIPE, ECONNRESET), of the {@code Hello} or of a request, one
 *       frame is still read: an {@code Error} with id 0 waiting there ({@code Busy}, {@code
 *       Unauthorized}, {@code ShuttingDown}) is the call's error, with its code; only if
 *       nothing can be read is it a transport failure.
 *   <li><b>Resend once</b> (every request is idempotent, PROTOCOL §7.1): when a <em>reused</em>
 *       connection (one that already answered a request) fails before any byte of the answer
 *       arrived (the write fails, the read meets the end of the stream or a reset, or the first
 *       frame is an id-0 {@code ShuttingDown}), the request is sent once more on a fresh
 *       connection with a new handshake. Never on a fresh connection, never twice, never once
 *       the answer began; an id-0 {@code Busy} or {@code Unauthorized} is never resent.
 *   <li>An {@code Unauthorized} with id 0 is a refused uid (sent before the Hello was read);
 *       under the Hello's id, which is never 0, a refused token.
 *   <li>A response whose id is not the request's drops the connection (the stream is out of
 *       step).
 * </ul>
 */
final class SidecarClient {
    /** Kept by the request buffer between calls; a larger one (a big render) is let go. */
    private static final int KEEP_BUFFER = 64 * 1024;

    /**
     * A reused connection failed before any byte of the answer arrived: the request is sent
     * once more on a fresh connection; {@code error} is the call's if that is not allowed.
     */
    private static final class Resend extends Exception {
        private static final long serialVersionUID = 1L;

        final SecretsUnavailableException error;

        Resend(SecretsUnavailableException error) {
            super(null, null, false, false);
            this.error = error;
        }
    }

    private final String path;
    private final String token;
    private final Object lock = new Object();
    private final PostcardWriter out = new PostcardWriter(256);
    private byte[] helloFrame;
    private long nextId = 1;
    /** Written under the lock; read without it only by {@link #close()}. */
    private volatile Connection connection;

    /**
     * A client of the sidecar at {@code path} ({@code null}: none configured, every call
     * fails) with {@code token} ({@code null} or empty: none).
     */
    SidecarClient(String path, String token) {
        this.path = path;
        this.token = token == null || token.isEmpty() ? null : token;
        if (this.token != null) {
            Arguments.requireUnicode(this.token, "client token");
        }
    }

    /** The socket path; {@code null} when none was configured. */
    String socketPath() {
        return path;
    }

    /**
     * Closes the connection; a later request connects again. Does not wait for a request in
     * flight on another thread: that one fails with {@link SecretsUnavailableException}.
     */
    void close() {
        Connection c = connection;
        if (c != null) {
            c.close();
        }
    }

    /**
     * Sends request {@code body} and answers with the response body, which is an instance of
     * {@code expected}. {@code kind} names the request in messages. The frame is built before
     * any connection is made, so an argument refused here leaves nothing sent.
     *
     * @throws RequestTooLargeException when the request would exceed the request limit
     * @throws SecretsUnavailableException when the sidecar cannot be asked or refuses
     */
    <T extends ResponseBody> T call(String kind, RequestBody body, Class<T> expected) {
        synchronized (lock) {
            long id = takeId();
            out.reset(KEEP_BUFFER);
            int length = Codec.writeRequestFrame(out, id, body);
            if (length > Limits.MAX_REQUEST_BODY) {
                out.reset(KEEP_BUFFER);
                throw new RequestTooLargeException(Messages.requestTooLarge(kind, length));
            }
            boolean resent = false;
            while (true) {
                try {
                    return callOnce(kind, id, expected);
                } catch (Resend e) {
                    drop();
                    // Only a reused connection asks for a resend, and the resend goes out on a
                    // fresh one; the guard keeps "never a second time" true whatever changes.
                    if (resent) {
                        throw e.error;
                    }
                    resent = true;
                }
            }
        }
    }

    private <T extends ResponseBody> T callOnce(String kind, long id, Class<T> expected)
            throws Resend {
        Connection c = connection;
        if (c != null && (!c.isOpen() || c.hasUnreadBytes())) {
            drop();
            c = null;
        }
        if (c == null) {
            c = connect();
        }
        boolean reused = c.isReused();
        WriteFailed writeFailed = null;
        try {
            c.send(out.array(), out.size());
        } catch (WriteFailed e) {
            writeFailed = e; // what the sidecar wrote before closing may still be readable
        } catch (Broken e) {
            drop();
            throw brokenError(kind, e);
        }
        Response response;
        try {
            response = receive(c);
        } catch (Broken e) {
            drop();
            SecretsUnavailableException error = writeFailed != null
                    ? error(Messages.closedMidRequest(kind, writeFailed.getMessage()), null)
                    : brokenError(kind, e);
            if (reused && !e.ours && (writeFailed != null || !e.began)) {
                throw new Resend(error);
            }
            throw error;
        }
        if (response.id() == 0 && response.body() instanceof ResponseBody.Error refused) {
            drop();
            SecretsUnavailableException error = connectionError(kind, refused.code());
            if (reused && refused.code() == ErrorCode.SHUTTING_DOWN) {
                throw new Resend(error);
            }
            throw error;
        }
        if (writeFailed != null) {
            drop();
            throw error(Messages.closedMidRequest(kind, writeFailed.getMessage()), null);
        }
        c.markAnswered();
        if (response.id() != id) {
            drop();
            throw error(Messages.idMismatch(id, response.id()), null);
        }
        ResponseBody body = response.body();
        if (body instanceof ResponseBody.Error refused) {
            ErrorCode code = refused.code();
            if (code == ErrorCode.SHUTTING_DOWN || code == ErrorCode.BUSY) {
                drop();
                throw error(Messages.notServed(kind, code), code);
            }
            if (code != ErrorCode.INTERNAL && code != ErrorCode.TOO_LARGE) {
                drop(); // every other code closes the connection (PROTOCOL.md §6.6)
            }
            throw error(Messages.errorAnswer(kind, code), code);
        }
        if (!expected.isInstance(body)) {
            drop();
            throw error(Messages.unexpectedAnswer(kind, body.getClass().getSimpleName()), null);
        }
        return expected.cast(body);
    }

    /**
     * What a connection-level error (id 0, PROTOCOL §7.3) means: its code is the call's; an
     * {@code Unauthorized} there is the uid, refused before anything was read.
     */
    private SecretsUnavailableException connectionError(String kind, ErrorCode code) {
        if (code == ErrorCode.UNAUTHORIZED) {
            return error(Messages.uidRefused(ProcessUid.get()), code);
        }
        if (code == ErrorCode.SHUTTING_DOWN || code == ErrorCode.BUSY) {
            return error(Messages.notServed(kind, code), code);
        }
        return error(Messages.errorAnswer(kind, code), code);
    }

    private long takeId() {
        long id = nextId;
        nextId = id < Limits.U32_MAX ? id + 1 : 1;
        return id;
    }

    /** Reads and decodes the next frame; a malformed one drops the connection. */
    private Response receive(Connection c) throws Broken {
        try {
            c.readFrame();
            return Codec.decodeResponse(c.bodyArray, c.bodyOffset, c.bodyLength);
        } catch (WireException e) {
            drop();
            throw error(Messages.malformed(e.error().vectorName()), null);
        }
    }

    /** Connects and does the handshake. Nothing here is retried: a fresh connection failed. */
    private Connection connect() {
        if (path == null) {
            throw new SecretsUnavailableException(null, Messages.noSocketConfigured(), null);
        }
        int bytes = path.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > Limits.MAX_SOCKET_PATH) {
            throw new SecretsUnavailableException(
                    path, Messages.socketPathTooLong(path, bytes), null);
        }
        Connection c;
        try {
            c = Connection.open(path);
        } catch (ClosedByInterruptException e) {
            throw error(Messages.interrupted("connect"), null);
        } catch (IOException e) {
            throw error(Messages.cannotConnect(Connection.describe(e)), null);
        } catch (InvalidPathException e) {
            throw error(Messages.cannotConnect("not a usable path"), null);
        }
        return handshake(c);
    }

    /** Sends the Hello on the fresh connection {@code c}, reads its answer, and keeps it. */
    Connection handshake(Connection c) {
        connection = c;
        WriteFailed writeFailed = null;
        try {
            c.send(helloFrame(), helloFrame.length);
        } catch (WriteFailed e) {
            writeFailed = e; // closed at once: it may have said why first (Busy, Unauthorized)
        } catch (Broken e) {
            drop();
            throw brokenError("Hello", e);
        }
        Response response;
        try {
            response = receive(c);
        } catch (Broken e) {
            drop();
            if (writeFailed != null) {
                throw error(Messages.closedMidRequest("Hello", writeFailed.getMessage()), null);
            }
            throw brokenError("Hello", e);
        }
        ResponseBody body = response.body();
        if (response.id() == 0 && body instanceof ResponseBody.Error refused) {
            drop();
            throw connectionError("Hello", refused.code());
        }
        if (writeFailed != null) {
            drop();
            throw error(Messages.closedMidRequest("Hello", writeFailed.getMessage()), null);
        }
        if (response.id() != Limits.HELLO_ID) {
            drop();
            throw error(Messages.idMismatch(Limits.HELLO_ID, response.id()), null);
        }
        if (body instanceof ResponseBody.Hello hello) {
            if (hello.version() != Limits.PROTOCOL_VERSION) {
                drop();
                throw error(Messages.wrongVersion(hello.version()), null);
            }
            return c;
        }
        drop();
        if (body instanceof ResponseBody.Error refused) {
            ErrorCode code = refused.code();
            if (code == ErrorCode.UNAUTHORIZED) {
                throw error(Messages.TOKEN_REFUSED, code);
            }
            throw error(Messages.handshakeRefused(code), code);
        }
        throw error(Messages.unexpectedAnswer("Hello", body.getClass().getSimpleName()), null);
    }

    /** The handshake frame, built once: it never changes for this client. */
    private byte[] helloFrame() {
        if (helloFrame == null) {
            PostcardWriter hello = new PostcardWriter(64);
            RequestBody body =
                    new RequestBody.Hello(Limits.PROTOCOL_VERSION, Limits.CLIENT_NAME, token);
            Codec.writeRequestFrame(hello, Limits.HELLO_ID, body);
            helloFrame = hello.toByteArray();
        }
        return helloFrame;
    }

    private void drop() {
        Connection c = connection;
        if (c != null) {
            c.close();
            connection = null;
        }
    }

    private SecretsUnavailableException brokenError(String kind, Broken e) {
        if (e.interrupted) {
            return error(Messages.interrupted(kind), null);
        }
        return error(Messages.closedMidRequest(kind, e.getMessage()), null);
    }

    private SecretsUnavailableException error(String what, ErrorCode code) {
        return new SecretsUnavailableException(path, Messages.at(path, what), code);
    }

    @Override
    public String toString() {
        return "SidecarClient[socket=" + path + "]";
    }
}
