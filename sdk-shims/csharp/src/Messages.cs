using System.Collections.Generic;

namespace Ax.Secrets
{
    // The protocol v2 messages (PROTOCOL.md §3, §5, §6) as plain immutable values. Enum order
    // is the wire format: each body's Tag is its variant index. ToString never shows a field
    // that may hold a secret value, a token or text supplied by node code.

    /// <summary>The body of a request; <see cref="Tag"/> is its variant index.</summary>
    internal abstract class RequestBody
    {
        internal abstract byte Tag { get; }

        /// <summary>The variant's name, as in the vectors' canonical JSON.</summary>
        internal abstract string Kind { get; }

        public override string ToString() { return Kind; }
    }

    /// <summary>Tag 0: the handshake, the first request on every connection.</summary>
    internal sealed class HelloRequest : RequestBody
    {
        internal HelloRequest(ushort version, string client, string token)
        {
            Version = version;
            Client = client;
            Token = token;
        }

        internal ushort Version { get; }
        internal string Client { get; }
        /// <summary>The client token, or null for none.</summary>
        internal string Token { get; }
        internal override byte Tag { get { return 0; } }
        internal override string Kind { get { return "Hello"; } }
    }

    /// <summary>Tag 1: one secret by name.</summary>
    internal sealed class GetRequest : RequestBody
    {
        internal GetRequest(string name) { Name = name; }
        internal string Name { get; }
        internal override byte Tag { get { return 1; } }
        internal override string Kind { get { return "Get"; } }
    }

    /// <summary>Tag 2: the metadata of every secret.</summary>
    internal sealed class ListRequest : RequestBody
    {
        internal static readonly ListRequest Instance = new ListRequest();
        internal override byte Tag { get { return 2; } }
        internal override string Kind { get { return "List"; } }
    }

    /// <summary>Tag 3: expand <c>{{secrets.NAME}}</c> references.</summary>
    internal sealed class RenderRequest : RequestBody
    {
        internal RenderRequest(string template) { Template = template; }
        internal string Template { get; }
        internal override byte Tag { get { return 3; } }
        internal override string Kind { get { return "Render"; } }
    }

    /// <summary>Tag 4: replace every value in a text with <c>***</c>.</summary>
    internal sealed class RedactRequest : RequestBody
    {
        internal RedactRequest(string text) { Text = text; }
        internal string Text { get; }
        internal override byte Tag { get { return 4; } }
        internal override string Kind { get { return "Redact"; } }
    }

    /// <summary>Tag 5: liveness check.</summary>
    internal sealed class PingRequest : RequestBody
    {
        internal static readonly PingRequest Instance = new PingRequest();
        internal override byte Tag { get { return 5; } }
        internal override string Kind { get { return "Ping"; } }
    }

    /// <summary>The body of a response; <see cref="Tag"/> is its variant index.</summary>
    internal abstract class ResponseBody
    {
        internal abstract byte Tag { get; }
        internal abstract string Kind { get; }
        public override string ToString() { return Kind; }
    }

    /// <summary>Tag 0: the handshake was accepted.</summary>
    internal sealed class HelloResponse : ResponseBody
    {
        internal HelloResponse(ushort version, string sidecar, string executionId)
        {
            Version = version;
            Sidecar = sidecar;
            ExecutionId = executionId;
        }

        internal ushort Version { get; }
        internal string Sidecar { get; }
        internal string ExecutionId { get; }
        internal override byte Tag { get { return 0; } }
        internal override string Kind { get { return "Hello"; } }
    }

    /// <summary>Tag 1: the answer to <c>Get</c>; null means not found, "" is a found empty value.</summary>
    internal sealed class SecretResponse : ResponseBody
    {
        internal SecretResponse(string value) { Value = value; }
        internal string Value { get; }
        internal override byte Tag { get { return 1; } }
        internal override string Kind { get { return "Secret"; } }
    }

    /// <summary>Tag 2: the answer to <c>List</c>, sorted by name.</summary>
    internal sealed class ListResponse : ResponseBody
    {
        internal ListResponse(List<SecretInfo> secrets) { Secrets = secrets; }
        internal List<SecretInfo> Secrets { get; }
        internal override byte Tag { get { return 2; } }
        internal override string Kind { get { return "List"; } }
    }

    /// <summary>Tag 3: the answer to <c>Render</c>.</summary>
    internal sealed class RenderedResponse : ResponseBody
    {
        internal RenderedResponse(string text, List<string> missing) { Text = text; Missing = missing; }
        internal string Text { get; }
        internal List<string> Missing { get; }
        internal override byte Tag { get { return 3; } }
        internal override string Kind { get { return "Rendered"; } }
    }

    /// <summary>Tag 4: the answer to <c>Redact</c>.</summary>
    internal sealed class RedactedResponse : ResponseBody
    {
        internal RedactedResponse(string text, List<string> found) { Text = text; Found = found; }
        internal string Text { get; }
        internal List<string> Found { get; }
        internal override byte Tag { get { return 4; } }
        internal override string Kind { get { return "Redacted"; } }
    }

    /// <summary>Tag 5: the answer to <c>Ping</c>.</summary>
    internal sealed class PongResponse : ResponseBody
    {
        internal static readonly PongResponse Instance = new PongResponse();
        internal override byte Tag { get { return 5; } }
        internal override string Kind { get { return "Pong"; } }
    }

    /// <summary>Tag 6: a refused request.</summary>
    internal sealed class ErrorResponse : ResponseBody
    {
        internal ErrorResponse(ErrorCode code, string message) { Code = code; Message = message; }
        internal ErrorCode Code { get; }
        /// <summary>A reason for logs; it never holds a value. Clients act on <see cref="Code"/>.</summary>
        internal string Message { get; }
        internal override byte Tag { get { return 6; } }
        internal override string Kind { get { return "Error"; } }
        public override string ToString() { return "Error(" + Code + ")"; }
    }
}
