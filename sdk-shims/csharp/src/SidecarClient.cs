using System;
using System.IO;
using System.Net.Sockets;

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
    /// <item>A connection found closed before a request is written (a non-blocking poll sees
    /// end of stream, or the write fails with EPIPE/ECONNRESET before any byte went out) is
    /// replaced, once, with a fresh connection and handshake.</item>
    /// <item><c>ShuttingDown</c> and <c>Busy</c> mean the request was not served: retried once
    /// on a fresh connection.</item>
    /// <item>A connection that breaks after a request was written is dropped and the request
    /// is not resent: the caller gets <see cref="SecretsUnavailableException"/>, and the next
    /// call connects afresh.</item>
    /// <item>A response whose id is not the request's drops the connection.</item>
    /// </list>
    /// </remarks>
    internal sealed class SidecarClient : IDisposable
    {
        private sealed class NotServedException : Exception
        {
            internal NotServedException(ErrorCode code) : base(code.ToString()) { Code = code; }
            internal ErrorCode Code { get; }
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
                bool retried = false;
                while (true)
                {
                    try
                    {
                        return CallOnce<T>(body);
                    }
                    catch (NotSentException)
                    {
                        Drop();
                        if (retried)
                        {
                            throw Error(ErrorMessages.BrokenTwice);
                        }
                    }
                    catch (NotServedException e)
                    {
                        Drop();
                        if (retried)
                        {
                            throw Error(ErrorMessages.NotServedTwice(e.Code), e.Code);
                        }
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
                    retried = true;
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
            try
            {
                c.Send(writer.Buffer, writer.Length);
            }
            catch (BrokenException e)
            {
                Drop();
                throw Error(ErrorMessages.ClosedMidRequest(body.Kind, e.Message));
            }
            ResponseBody answer = Receive(c, body.Kind, id);
            var typed = answer as T;
            if (typed != null)
            {
                return typed;
            }
            var error = answer as ErrorResponse;
            if (error != null)
            {
                if (error.Code == ErrorCode.ShuttingDown || error.Code == ErrorCode.Busy)
                {
                    throw new NotServedException(error.Code);
                }
                // Only these leave the connection open (PROTOCOL.md §6.6).
                if (error.Code != ErrorCode.Internal && error.Code != ErrorCode.TooLarge)
                {
                    Drop();
                }
                throw Error(ErrorMessages.ErrorAnswer(body.Kind, error.Code), error.Code);
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

        private ResponseBody Receive(Connection c, string kind, uint expected)
        {
            ResponseBody body;
            uint id;
            try
            {
                ArraySegment<byte> frame = c.ReadFrame();
                body = Codec.DecodeResponse(frame.Array, frame.Offset, frame.Count, out id);
            }
            catch (BrokenException e)
            {
                Drop();
                throw Error(e.TimedOut
                    ? ErrorMessages.TimedOut(kind, timeout)
                    : ErrorMessages.ClosedMidRequest(kind, e.Message));
            }
            catch (WireException e)
            {
                Drop();
                throw Error(ErrorMessages.Malformed(e.Kind));
            }
            // An error sent before any request could be decoded carries id 0.
            if (id != expected && !(id == 0 && body is ErrorResponse))
            {
                Drop();
                throw Error(ErrorMessages.IdMismatch(expected, id));
            }
            return body;
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

        private Connection Connect()
        {
            string where = Configure();
            Connection c;
            try
            {
                c = Connection.Open(where, timeout);
            }
            catch (SocketException e)
            {
                // Mono reports a missing path as ConnectionRefused: say which it is.
                string reason = File.Exists(where) ? e.SocketErrorCode + ": " + e.Message : "no socket file at that path";
                throw Error(ErrorMessages.CannotConnect(reason));
            }
            connection = c;
            var hello = new WireWriter(64);
            Codec.EncodeRequest(hello, 0, new HelloRequest(Limits.ProtocolVersion, Limits.ClientName, token));
            try
            {
                c.Send(hello.Buffer, hello.Length);
            }
            catch (NotSentException)
            {
                Drop();
                throw Error(ErrorMessages.ClosedMidRequest("Hello", "closed"));
            }
            catch (BrokenException e)
            {
                Drop();
                throw Error(ErrorMessages.ClosedMidRequest("Hello", e.Message));
            }
            finally
            {
                hello.Wipe();
            }
            ResponseBody body = Receive(c, "Hello", 0);
            var accepted = body as HelloResponse;
            if (accepted != null)
            {
                if (accepted.Version != Limits.ProtocolVersion)
                {
                    Drop();
                    throw Error(ErrorMessages.WrongVersion(accepted.Version));
                }
                return c;
            }
            Drop();
            var error = body as ErrorResponse;
            if (error != null)
            {
                if (error.Code == ErrorCode.ShuttingDown || error.Code == ErrorCode.Busy)
                {
                    throw new NotServedException(error.Code);
                }
                if (error.Code == ErrorCode.Unauthorized)
                {
                    throw Error(ErrorMessages.TokenRefused, error.Code);
                }
                throw Error(ErrorMessages.HandshakeRefused(error.Code), error.Code);
            }
            throw Error(ErrorMessages.UnexpectedAnswer("Hello", body.Kind));
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
