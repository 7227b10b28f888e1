namespace Ax.Secrets
{
    /// <summary>Every limit and constant of protocol v2 the shim relies on (PROTOCOL.md §9).</summary>
    internal static class Limits
    {
        /// <summary>The protocol version this shim speaks, sent in <c>Hello</c>.</summary>
        internal const ushort ProtocolVersion = 2;

        /// <summary>How this shim names itself in <c>Hello</c> (at most 256 bytes).</summary>
        internal const string ClientName = "csharp/0.1.0";

        /// <summary>Bytes in the big-endian length prefix of every frame.</summary>
        internal const int FrameHeaderLength = 4;

        /// <summary>Largest request body, inclusive: 1 MiB (1 048 576 bytes).</summary>
        internal const int MaxRequestBody = 1024 * 1024;

        /// <summary>Largest response body, inclusive: 16 MiB (16 777 216 bytes).</summary>
        internal const int MaxResponseBody = 16 * 1024 * 1024;

        /// <summary>Longest secret name in bytes (names are ASCII, so also in chars).</summary>
        internal const int MaxNameLength = 128;

        /// <summary>The shortest value, in bytes of its UTF-8, that is redacted (PROTOCOL §8.4): a shorter one such as 1 or 5432 would mask every such digit run of a log.</summary>
        internal const int MinRedactedLength = 4;

        /// <summary>What stands for a secret in redacted text.</summary>
        internal const string RedactionMark = "***";

        /// <summary>Environment variable holding the sidecar's socket path.</summary>
        internal const string SocketEnv = "AX_SECRETS_SOCKET";

        /// <summary>Environment variable holding the client token (unset or empty: no token).</summary>
        internal const string TokenEnv = "AX_SECRETS_TOKEN";

        /// <summary>
        /// The longest socket path, in bytes of its UTF-8, that a Unix socket address holds: a
        /// <c>sockaddr_un</c> has room for 108 bytes with the closing NUL.
        /// </summary>
        internal const int MaxSocketPath = 107;

        /// <summary>
        /// The id of every <c>Hello</c>: nonzero, so that an <c>Unauthorized</c> under it (the
        /// token) is told from one with id 0 (the uid, refused before the Hello was read).
        /// </summary>
        internal const uint HelloId = 1;

        /// <summary>Bytes read from the socket at a time; a response that fits is read in one go.</summary>
        internal const int ReadBufferSize = 64 * 1024;
    }
}
