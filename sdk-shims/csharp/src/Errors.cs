using System;
using System.Globalization;

namespace Ax.Secrets
{
    /// <summary>
    /// The error codes a sidecar answers with (PROTOCOL.md §6.6), in wire order.
    /// </summary>
    public enum ErrorCode
    {
        /// <summary>The frame or message was malformed.</summary>
        BadRequest = 0,
        /// <summary>The sidecar does not speak the protocol version the shim asked for.</summary>
        UnsupportedVersion = 1,
        /// <summary>The client token is missing or wrong, or the process's uid is not allowed.</summary>
        Unauthorized = 2,
        /// <summary>A request, or the response it would need, is over the size limit.</summary>
        TooLarge = 3,
        /// <summary>The sidecar is stopping; the request was not served.</summary>
        ShuttingDown = 4,
        /// <summary>The sidecar failed to serve this one request.</summary>
        Internal = 5,
        /// <summary>A request other than <c>Hello</c> came first, or a second <c>Hello</c> came.</summary>
        HandshakeRequired = 6,
        /// <summary>The sidecar is at its connection limit.</summary>
        Busy = 7,
    }

    /// <summary>
    /// The sidecar could not be asked: a transport failure, never "secret not found".
    /// </summary>
    /// <remarks>
    /// Thrown when <c>AX_SECRETS_SOCKET</c> is unset, nothing listens at the path, the sidecar
    /// refuses the client token, the connection breaks while a request is in flight, or the
    /// sidecar answers with something the shim cannot accept. The message names the socket path
    /// and what happened; it never holds a secret value, a token, a template or a text.
    /// </remarks>
    public sealed class SecretsUnavailableException : Exception
    {
        /// <summary>Creates the exception (the shim throws it; tests of node code may too).</summary>
        public SecretsUnavailableException(string socketPath, string message, ErrorCode? code = null)
            : base(message)
        {
            SocketPath = socketPath;
            Code = code;
        }

        /// <summary>The socket the shim tried to reach; <c>null</c> when none was configured.</summary>
        public string SocketPath { get; }

        /// <summary>The protocol error code the sidecar answered with, when it answered with one.</summary>
        public ErrorCode? Code { get; }
    }

    /// <summary>
    /// A <c>Render</c> or <c>Redact</c> argument would make a request over the 1 MiB request
    /// limit; nothing was sent.
    /// </summary>
    public sealed class RequestTooLargeException : ArgumentException
    {
        internal RequestTooLargeException(string message, string paramName) : base(message, paramName)
        {
        }
    }

    /// <summary>How bytes can fail to be a frame or a message (PROTOCOL.md §2, §4).</summary>
    /// <remarks>The names are those of the shared vectors' <c>error</c> field.</remarks>
    internal enum WireError
    {
        FrameTooLarge,
        Truncated,
        UnexpectedEnd,
        TrailingBytes,
        UnknownVariant,
        InvalidUtf8,
        InvalidOptionTag,
        InvalidVarint,
    }

    /// <summary>Bytes that are not a valid frame or message.</summary>
    internal sealed class WireException : Exception
    {
        internal WireException(WireError kind) : base(ErrorMessages.Wire(kind))
        {
            Kind = kind;
        }

        internal WireError Kind { get; }
    }

    /// <summary>
    /// Every message a user of the shim can see. None holds a secret value, a token, a
    /// template or a text to redact: only socket paths, request kinds, error codes and sizes.
    /// </summary>
    internal static class ErrorMessages
    {
        internal const string Prefix = "ax-secrets: ";

        internal static string NoSocketConfigured()
        {
            return Prefix + Limits.SocketEnv + " is not set, so there is no sidecar to ask "
                + "(in tests, use MockAxiomContext)";
        }

        /// <summary>A message about the sidecar at <paramref name="path"/>.</summary>
        internal static string At(string path, string what)
        {
            return Prefix + "the sidecar at " + (path ?? "(unset)") + " " + what;
        }

        internal static string CannotConnect(string reason) { return "cannot be reached (" + reason + ")"; }
        internal static string SocketPathTooLong(string path, int bytes)
        {
            return Prefix + "socket path " + path + " is " + bytes + " bytes; a Unix socket path holds at most " + Limits.MaxSocketPath;
        }

        internal const string TokenRefused = "refused the client token (missing or wrong)";

        /// <summary>An <c>Unauthorized</c> with id 0: this process's uid may not connect (PROTOCOL.md §1).</summary>
        internal static string UidRefused(long uid)
        {
            return "refused this process's uid" + (uid < 0 ? "" : " " + uid) + " (not allowed to connect)";
        }
        internal static string HandshakeRefused(ErrorCode code) { return "refused the handshake with error " + code; }
        internal static string WrongVersion(int version) { return "speaks protocol version " + version + ", not " + Limits.ProtocolVersion; }
        internal static string NotServed(string kind, ErrorCode code)
        {
            return "did not serve " + kind + " (error " + code + ")"
                + (code == ErrorCode.Busy ? "; it is at its connection limit, try again later" : "");
        }

        internal static string ClosedMidRequest(string kind, string reason)
        {
            return "closed the connection before answering " + kind + " (" + reason + ")";
        }

        internal static string IdMismatch(uint sent, uint received)
        {
            return "answered request " + sent + " with id " + received + "; the connection was dropped";
        }

        internal static string Malformed(WireError reason)
        {
            return "sent a malformed response (" + reason + "); the connection was dropped";
        }

        internal static string UnexpectedAnswer(string kind, string answer)
        {
            return "answered " + kind + " with " + answer + "; the connection was dropped";
        }

        internal static string ErrorAnswer(string kind, ErrorCode code) { return "refused " + kind + " with error " + code; }

        internal static string TimedOut(string kind, TimeSpan? timeout)
        {
            double seconds = timeout.HasValue ? timeout.Value.TotalSeconds : 0;
            return "did not answer " + kind + " within " + seconds.ToString(CultureInfo.InvariantCulture)
                + " s; the connection was dropped";
        }

        internal static string RequestTooLarge(string kind, long size)
        {
            return Prefix + "this " + kind + " request would be " + size + " bytes, over the request limit of "
                + Limits.MaxRequestBody + " bytes (1 MiB); nothing was sent";
        }

        internal static string NotUnicode(string what, int index)
        {
            // The encoder's own message quotes the offending character: say where, not what.
            return Prefix + "the " + what + " is not valid Unicode (a lone surrogate at index " + index + ")";
        }

        internal static string MockKeyNotAName(string problem)
        {
            // The key is not shown: a string that is not a name may be a value.
            return "the secrets map holds a key that is not a secret name (" + problem + ")";
        }

        internal static string MockValueNull(string name) { return "the secrets map has no value (null) for " + name; }
        internal static string MockValueNotUnicode(string name) { return "the value of " + name + " in the secrets map is not valid Unicode (a lone surrogate)"; }
        internal static string MockDuplicate(string name) { return "the secrets map names " + name + " twice"; }

        internal static string Wire(WireError kind)
        {
            switch (kind)
            {
                case WireError.FrameTooLarge: return "frame length exceeds the limit";
                case WireError.Truncated: return "stream ended inside a frame";
                case WireError.UnexpectedEnd: return "frame ended before the message did";
                case WireError.TrailingBytes: return "bytes left in the frame after the message";
                case WireError.UnknownVariant: return "unknown enum variant for this protocol version";
                case WireError.InvalidUtf8: return "string is not valid UTF-8";
                case WireError.InvalidOptionTag: return "option tag is neither 0 nor 1";
                case WireError.InvalidVarint: return "varint is too long or overflows its type";
                default: return "malformed message";
            }
        }
    }
}
