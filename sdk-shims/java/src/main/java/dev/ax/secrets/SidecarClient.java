package dev.ax.secrets;

import dev.ax.secrets.Connection.Broken;
import dev.ax.secrets.Connection.NotSent;
import dev.ax.secrets.wire.Codec;
import dev.ax.secrets.wire.Limits;
import dev.ax.secrets.wire.PostcardWriter;
import dev.ax.secrets.wire.RequestBody;
import dev.ax.secrets.wire.Response;
import dev.ax.secrets.wire.ResponseBody;
import dev.ax.secrets.wire.WireException;
import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.InvalidPathException;

/**
 * Speaks protocol v2 to one sidecar: lazy connection, handshake, request ids, reconnection and
 * errors. Thread-safe: one request is in flight at a time, under a lock.
 *
 * <p>The rules of PROTOCOL.md §7:
 *
 * <ul>
 *   <li>A connection found closed before a request is written (the write fails before any byte
 *       went out) is replaced, once, with a fresh connection and handshake.
 *   <li>{@code ShuttingDown} and {@code Busy} mean the request was not served: retried once on
 *       a fresh connection.
 *   <li>A connection that breaks after a request was written is dropped and the request is
 *       <em>not</em> resent: the caller gets {@link SecretsUnavailableException}, and the next
 *       call connects afresh.
 *   <li>A response whose id is not the request's drops the connection (the stream is out of
 *       step).
 * </ul>
 */
final class SidecarClient {
    /** Kept by the request buffer between calls; a larger one (a big render) is let go. */
    private static final int KEEP_BUFFER = 64 * 1024;

    /** The request was not served (ShuttingDown, Busy): worth one more try. */
    private static final class NotServed extends Exception {
        private static final long serialVersionUID = 1L;

        final transient ErrorCode code;

        NotServed(ErrorCode code) {
            super(code.wireName(), null, false, false);
            this.code = code;
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
            boolean retried = false;
            while (true) {
                try {
                    return callOnce(kind, id, expected);
                } catch (NotSent e) {
                    drop();
                    if (retried) {
                        throw error(Messages.BROKEN_TWICE, null);
                    }
                } catch (NotServed e) {
                    drop();
                    if (retried) {
                        throw error(Messages.notServedTwice(e.code), e.code);
                    }
                }
                retried = true;
            }
        }
    }

    private <T extends ResponseBody> T callOnce(String kind, long id, Class<T> expected)
            throws NotSent, NotServed {
        Connection c = connection;
        if (c != null && (!c.isOpen() || c.hasUnreadBytes())) {
            drop();
            c = null;
        }
        if (c == null) {
            c = connect();
        }
        try {
            c.send(out.array(), out.size());
        } catch (Broken e) {
            drop();
            throw brokenError(kind, e);
        }
        ResponseBody body = receive(c, kind, id);
        if (body instanceof ResponseBody.Error refused) {
            ErrorCode code = refused.code();
            if (code == ErrorCode.SHUTTING_DOWN || code == ErrorCode.BUSY) {
                throw new NotServed(code);
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

    private long takeId() {
        long id = nextId;
        nextId = id < Limits.U32_MAX ? id + 1 : 1;
        return id;
    }

    private ResponseBody receive(Connection c, String kind, long id) {
        Response response;
        try {
            c.readFrame();
            response = Codec.decodeResponse(c.bodyArray, c.bodyOffset, c.bodyLength);
        } catch (Broken e) {
            drop();
            throw brokenError(kind, e);
        } catch (WireException e) {
            drop();
            throw error(Messages.malformed(e.error().vectorName()), null);
        }
        if (response.id() != id
                && !(response.id() == 0 && response.body() instanceof ResponseBody.Error)) {
            drop();
            throw error(Messages.idMismatch(id, response.id()), null);
        }
        return response.body();
    }

    private Connection connect() throws NotServed {
        if (path == null) {
            throw new SecretsUnavailableException(null, Messages.noSocketConfigured(), null);
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
        connection = c;
        try {
            c.send(helloFrame(), helloFrame.length);
        } catch (NotSent e) {
            // Closed at once: it may have said why first (Busy, Unauthorized), so read on.
        } catch (Broken e) {
            drop();
            throw brokenError("Hello", e);
        }
        ResponseBody body = receive(c, "Hello", 0);
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
            if (code == ErrorCode.SHUTTING_DOWN || code == ErrorCode.BUSY) {
                throw new NotServed(code);
            }
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
            Codec.writeRequestFrame(hello, 0, body);
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
