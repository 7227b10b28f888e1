using System;

namespace Ax.Secrets
{
    /// <summary>
    /// Speaks protocol v2 to one sidecar: lazy connection, handshake, request ids,
    /// reconnection, errors. Thread-safe; connects on the first request.
    /// </summary>
    /// <remarks>
    /// One connection, reused for every call and guarded by a lock, so one request is in
    /// flight at a time. The rules of PROTOCOL.md §7:
    /// <list type="bullet">
    /// <item>A connection a non-blocking poll finds closed (or holding unasked-for bytes) is
    /// replaced before the request is written.</item>
    /// <item>After a failed write (EPIPE, ECONNRESET), of the <c>Hello</c> or of a request, one
    /// frame is still read: an <c>Error</c> with id 0 waiting there (<c>Busy</c>,
    /// <c>Unauthorized</c>, <c>ShuttingDown</c>) is the call's error, with its code; only if
    /// nothing can be read is it a transport failure.</item>
    /// <item>Resend once (every request is idempotent, PROTOCOL.md §7.1): when a reused
    /// connection (one that already answered a request) fails before any byte of the answer
    /// arrived (the write fails, the read meets the end of the stream or a reset, or the first
    /// frame is an id-0 <c>ShuttingDown</c>), the request is sent once more on a fresh
    /// connection with a new handshake. Never on a fresh connection, never twice, never once
    /// the answer began, never after a timeout; an id-0 <c>Busy</c> or <c>Unauthorized</c> is
    /// never resent.</item>
    /// <item>An <c>Unauthorized</c> with id 0 is a refused uid (sent before the Hello was
    /// read); under the Hello's id, which is never 0, a refused token.</item>
    /// <item>A response whose id is not the request's drops the connection.</item>
    /// </list>
    /// </remarks>
    internal sealed partial class SidecarClient : IDisposable
    {
        /// <summary>
        /// A reused connection failed before any byte of the answer arrived: the request is
        /// sent once more on a fresh connection; <see cref="Error"/> is the call's otherwise.
        /// </summary>
        private sealed class ResendException : Exception
        {
            internal ResendException(SecretsUnavailableException error) : base(error.Message) { Error = error; }
            internal SecretsUnavailableException Error { get; }
        }

        /// <summary>Requests up to this size reuse one buffer; a larger one gets its own.</summary>
        private const int SmallRequest = 4096;

        private readonly object sync = new object();
        private readonly WireWriter writer = new WireWriter(SmallRequest);
        private readonly TimeSpan? timeout;
        private readonly bool tokenGiven;
        // Volatile so that ToString can read it without waiting for a call in flight.
        private volatile string path;
        private string token;
        private bool configured;
        private bool disposed;
        private Connection connection;
        private uint nextId = 1;

        /// <param name="socketPath">The socket; null: <c>$AX_SECRETS_SOCKET</c>, read at the first request.</param>
        /// <param name="token">The client token; null: <c>$AX_SECRETS_TOKEN</c>; "" for none.</param>
        /// <param name="timeout">How long to wait for each write and answer; null waits for ever.</param>
        internal SidecarClient(string socketPath, string token, TimeSpan? timeout)
        {
            path = socketPath;
            tokenGiven = token != null;
            this.token = string.IsNullOrEmpty(token) ? null : token;
            this.timeout = timeout;
        }

        /// <summary>The socket path, once known (after the first request when taken from the environment).</summary>
        internal string SocketPath
        {
            get { return path; }
        }

        public void Dispose()
        {
            lock (sync)
            {
                disposed = true;
                Drop();
                writer.Wipe();
            }
        }

        public override string ToString()
        {
            return "SidecarClient(socket=" + (SocketPath ?? "(from " + Limits.SocketEnv + ")") + ")";
        }

        /// <summary>
        /// Sends <paramref name="body"/> and returns the matching response, which is an
        /// instance of <typeparamref name="T"/>. Error answers other than the "not served" ones
        /// throw <see cref="SecretsUnavailableException"/>.
        /// </summary>
        internal T Call<T>(RequestBody body) where T : ResponseBody
        {
            lock (sync)
            {
                if (disposed)
                {
                    throw new ObjectDisposedException(nameof(AxiomContext));
                }
                bool resent = false;
                while (true)
                {
                    try
                    {
                        return CallOnce<T>(body);
                    }
                    catch (ResendException e)
                    {
                        Drop();
                        // Only a reused connection asks for a resend, and the resend goes out on
                        // a fresh one; the guard keeps "never a second time" true whatever changes.
                        if (resent)
                        {
                            throw e.Error;
                        }
                        resent = true;
                    }
                    finally
                    {
                        // A text to redact holds values; a template may hold anything.
                        if (body is RedactRequest || body is RenderRequest || writer.Length > SmallRequest)
                        {
                            writer.Wipe();
                            writer.Shrink(SmallRequest);
                        }
                    }
                }
            }
        }

        private T CallOnce<T>(RequestBody body) where T : ResponseBody
        {
            uint id = TakeId();
            Codec.EncodeRequest(writer, id, body);
            if (writer.BodyLength > Limits.MaxRequestBody)
            {
                throw new RequestTooLargeException(ErrorMessages.RequestTooLarge(body.Kind, writer.BodyLength), null);
            }
            Connection c = connection;
            if (c != null && c.IsStale())
            {
                Drop();
                c = null;
            }
            if (c == null)
            {
                c = Connect();
            }
            bool reused = c.IsReused;
            WriteFailedException writeFailed = null;
            try
            {
                c.Send(writer.Buffer, writer.Length);
            }
            catch (WriteFailedException e)
            {
                writeFailed = e; // what the sidecar wrote before closing may still be readable
            }
            catch (BrokenException e)
            {
                Drop();
                throw Error(e.TimedOut ? ErrorMessages.TimedOut(body.Kind, timeout) : ErrorMessages.ClosedMidRequest(body.Kind, e.Message));
            }
            ResponseBody answer;
            uint answerId;
            try
            {
                answer = Receive(c, out answerId);
            }
            catch (BrokenException e)
            {
                Drop();
                SecretsUnavailableException error = writeFailed != null
                    ? Error(ErrorMessages.ClosedMidRequest(body.Kind, writeFailed.Message))
                    : Error(e.TimedOut ? ErrorMessages.TimedOut(body.Kind, timeout) : ErrorMessages.ClosedMidRequest(body.Kind, e.Message));
                if (reused && !e.TimedOut && (writeFailed != null || !c.AnswerBegan))
                {
                    throw new ResendException(error);
                }
                throw error;
            }
            var refused = answer as ErrorResponse;
            if (answerId == 0 && refused != null)
            {
                Drop();
                SecretsUnavailableException error = ConnectionError(body.Kind, refused.Code);
                if (reused && refused.Code == ErrorCode.ShuttingDown)
                {
                    throw new ResendException(error);
                }
                throw error;
            }
            if (writeFailed != null)
            {
                Drop();
                throw Error(ErrorMessages.ClosedMidRequest(body.Kind, writeFailed.Message));
            }
            c.MarkAnswered();
            if (answerId != id)
            {
                Drop();
                throw Error(ErrorMessages.IdMismatch(id, answerId));
            }
            var typed = answer as T;
            if (typed != null)
            {
                return typed;
            }
            if (refused != null)
            {
                // Only these leave the connection open (PROTOCOL.md §6.6).
                if (refused.Code != ErrorCode.Internal && refused.Code != ErrorCode.TooLarge)
                {
                    Drop();
                }
                if (refused.Code == ErrorCode.ShuttingDown || refused.Code == ErrorCode.Busy)
                {
                    throw Error(ErrorMessages.NotServed(body.Kind, refused.Code), refused.Code);
                }
                throw Error(ErrorMessages.ErrorAnswer(body.Kind, refused.Code), refused.Code);
            }
            Drop();
            throw Error(ErrorMessages.UnexpectedAnswer(body.Kind, answer.Kind));
        }

        private uint TakeId()
        {
            uint id = nextId;
            nextId = id == uint.MaxValue ? 1 : id + 1;
            return id;
        }

        /// <summary>Reads and decodes the next frame; a malformed one drops the connection. Throws <see cref="BrokenException"/>.</summary>
        private ResponseBody Receive(Connection c, out uint id)
        {
            try
            {
                ArraySegment<byte> frame = c.ReadFrame();
                return Codec.DecodeResponse(frame.Array, frame.Offset, frame.Count, out id);
            }
            catch (WireException e)
            {
                Drop();
                throw Error(ErrorMessages.Malformed(e.Kind));
            }
        }

        private string Configure()
        {
            if (!configured)
            {
                if (path == null)
                {
                    string fromEnv = Environment.GetEnvironmentVariable(Limits.SocketEnv);
                    path = string.IsNullOrEmpty(fromEnv) ? null : fromEnv;
                }
                if (!tokenGiven)
                {
                    string fromEnv = Environment.GetEnvironmentVariable(Limits.TokenEnv);
                    token = string.IsNullOrEmpty(fromEnv) ? null : fromEnv;
                }
                configured = true;
            }
            if (path == null)
            {
                throw new SecretsUnavailableException(null, ErrorMessages.NoSocketConfigured());
            }
            return path;
        }

        private void Drop()
        {
            if (connection != null)
            {
                connection.Dispose();
                connection = null;
            }
        }

        private SecretsUnavailableException Error(string what, ErrorCode? code = null)
        {
            return new SecretsUnavailableException(path, ErrorMessages.At(path, what), code);
        }
    }
}
