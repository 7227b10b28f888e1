using System;
using System.IO;
using System.Net.Sockets;
using System.Text;

namespace Ax.Secrets
{
    /// <summary>
    /// The client's connecting half: the socket path check, the connection, and the handshake
    /// (PROTOCOL.md §7.1), with the <c>Hello</c> always under a nonzero id. Nothing here is
    /// retried: a fresh connection that fails is the caller's error; after a failed write the
    /// frame the sidecar left (an id-0 <c>Busy</c> or <c>Unauthorized</c>) is still read.
    /// </summary>
    internal sealed partial class SidecarClient
    {
        /// <summary>Connects and does the handshake. Nothing here is retried: a fresh connection failed.</summary>
        private Connection Connect()
        {
            string where = Configure();
            int bytes = Encoding.UTF8.GetByteCount(where);
            if (bytes > Limits.MaxSocketPath)
            {
                throw new SecretsUnavailableException(where, ErrorMessages.SocketPathTooLong(where, bytes));
            }
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
            catch (ArgumentException e)
            {
                // A path the runtime's endpoint refuses (ArgumentOutOfRangeException on some).
                throw Error(ErrorMessages.CannotConnect(e.GetType().Name));
            }
            return Handshake(c);
        }

        /// <summary>Sends the Hello on the fresh connection <paramref name="c"/>, reads its answer, and keeps it.</summary>
        internal Connection Handshake(Connection c)
        {
            connection = c;
            var hello = new WireWriter(64);
            Codec.EncodeRequest(hello, Limits.HelloId, new HelloRequest(Limits.ProtocolVersion, Limits.ClientName, token));
            WriteFailedException writeFailed = null;
            try
            {
                c.Send(hello.Buffer, hello.Length);
            }
            catch (WriteFailedException e)
            {
                writeFailed = e; // closed at once: it may have said why first (Busy, Unauthorized)
            }
            catch (BrokenException e)
            {
                Drop();
                throw Error(e.TimedOut ? ErrorMessages.TimedOut("Hello", timeout) : ErrorMessages.ClosedMidRequest("Hello", e.Message));
            }
            finally
            {
                hello.Wipe();
            }
            ResponseBody body;
            uint id;
            try
            {
                body = Receive(c, out id);
            }
            catch (BrokenException e)
            {
                Drop();
                if (writeFailed != null)
                {
                    throw Error(ErrorMessages.ClosedMidRequest("Hello", writeFailed.Message));
                }
                throw Error(e.TimedOut ? ErrorMessages.TimedOut("Hello", timeout) : ErrorMessages.ClosedMidRequest("Hello", e.Message));
            }
            var error = body as ErrorResponse;
            if (id == 0 && error != null)
            {
                Drop();
                throw ConnectionError("Hello", error.Code);
            }
            if (writeFailed != null)
            {
                Drop();
                throw Error(ErrorMessages.ClosedMidRequest("Hello", writeFailed.Message));
            }
            if (id != Limits.HelloId)
            {
                Drop();
                throw Error(ErrorMessages.IdMismatch(Limits.HelloId, id));
            }
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
            if (error != null)
            {
                if (error.Code == ErrorCode.Unauthorized)
                {
                    throw Error(ErrorMessages.TokenRefused, error.Code);
                }
                throw Error(ErrorMessages.HandshakeRefused(error.Code), error.Code);
            }
            throw Error(ErrorMessages.UnexpectedAnswer("Hello", body.Kind));
        }

        /// <summary>
        /// What a connection-level error (id 0, PROTOCOL.md §7.3) means: its code is the call's;
        /// an <c>Unauthorized</c> there is the uid, refused before anything was read.
        /// </summary>
        private SecretsUnavailableException ConnectionError(string kind, ErrorCode code)
        {
            if (code == ErrorCode.Unauthorized)
            {
                return Error(ErrorMessages.UidRefused(ProcessUid.Get()), code);
            }
            if (code == ErrorCode.ShuttingDown || code == ErrorCode.Busy)
            {
                return Error(ErrorMessages.NotServed(kind, code), code);
            }
            return Error(ErrorMessages.ErrorAnswer(kind, code), code);
        }
    }
}
