using System;
using System.Collections.Generic;

// Framing and the postcard codec of protocol v2 (PROTOCOL.md §2, §4).
//
// Every message travels as one frame:
//
//     +----------------------+------------------------------------------+
//     | length: u32, big-end |  body: `length` bytes                    |
//     |      (4 bytes)       |  exactly one postcard-encoded message    |
//     +----------------------+------------------------------------------+
//
//     Ping with id 20:   00 00 00 02 | 14 (id 20, varint) | 05 (request tag 5 = Ping)
//     Get "A", id 128:   00 00 00 05 | 80 01 (id 128) | 01 (tag 1 = Get) | 01 41 ("A")
//
// Inside the body, integers are unsigned LEB128 varints (least significant group first),
// strings a varint byte length then UTF-8, Option a 00/01 tag, enums a varint tag then their
// fields, sequences a varint count then their elements. Decoders accept non-canonical
// (over-long) varints within the type's width; encoders write the shortest form.

namespace Ax.Secrets
{
    /// <summary>Frames and the v2 messages to and from bytes.</summary>
    internal static class Codec
    {
        private static readonly ErrorCode[] ErrorCodes = (ErrorCode[])Enum.GetValues(typeof(ErrorCode));

        /// <summary>The body length a complete length prefix announces; refused over <paramref name="limit"/>.</summary>
        internal static int AnnouncedLength(byte[] buffer, int offset, int limit)
        {
            uint length = (uint)buffer[offset] << 24 | (uint)buffer[offset + 1] << 16
                | (uint)buffer[offset + 2] << 8 | buffer[offset + 3];
            if (length > (uint)limit)
            {
                throw new WireException(WireError.FrameTooLarge);
            }
            return (int)length;
        }

        /// <summary>
        /// The body of the one frame <paramref name="stream"/> must consist of (as the shared
        /// vectors are run): <c>FrameTooLarge</c>, <c>Truncated</c> or <c>TrailingBytes</c> otherwise.
        /// </summary>
        internal static ArraySegment<byte> FrameOfStream(byte[] stream, int limit)
        {
            if (stream.Length < Limits.FrameHeaderLength)
            {
                throw new WireException(WireError.Truncated);
            }
            int length = AnnouncedLength(stream, 0, limit);
            long end = (long)Limits.FrameHeaderLength + length;
            if (stream.Length < end)
            {
                throw new WireException(WireError.Truncated);
            }
            if (stream.Length > end)
            {
                throw new WireException(WireError.TrailingBytes);
            }
            return new ArraySegment<byte>(stream, Limits.FrameHeaderLength, length);
        }

        /// <summary>Writes the whole frame of a request into <paramref name="w"/>.</summary>
        internal static void EncodeRequest(WireWriter w, uint id, RequestBody body)
        {
            w.Begin();
            w.Varint(id);
            w.Byte(body.Tag);
            var hello = body as HelloRequest;
            if (hello != null)
            {
                w.Varint(hello.Version);
                w.String(hello.Client);
                w.OptionString(hello.Token);
            }
            var get = body as GetRequest;
            if (get != null)
            {
                if (Names.IsValid(get.Name))
                {
                    w.AsciiString(get.Name);
                }
                else
                {
                    w.String(get.Name);
                }
            }
            var render = body as RenderRequest;
            if (render != null)
            {
                w.String(render.Template);
            }
            var redact = body as RedactRequest;
            if (redact != null)
            {
                w.String(redact.Text);
            }
            w.End();
        }

        /// <summary>Writes the whole frame of a response into <paramref name="w"/>.</summary>
        internal static void EncodeResponse(WireWriter w, uint id, ResponseBody body)
        {
            w.Begin();
            w.Varint(id);
            w.Byte(body.Tag);
            var hello = body as HelloResponse;
            if (hello != null)
            {
                w.Varint(hello.Version);
                w.String(hello.Sidecar);
                w.String(hello.ExecutionId);
            }
            var secret = body as SecretResponse;
            if (secret != null)
            {
                w.OptionString(secret.Value);
            }
            var list = body as ListResponse;
            if (list != null)
            {
                w.Varint((ulong)list.Secrets.Count);
                foreach (SecretInfo info in list.Secrets)
                {
                    w.String(info.Name);
                    w.Varint(info.Version);
                    w.Varint(info.UpdatedAtUnixSeconds);
                }
            }
            var rendered = body as RenderedResponse;
            if (rendered != null)
            {
                w.String(rendered.Text);
                w.Strings(rendered.Missing);
            }
            var redacted = body as RedactedResponse;
            if (redacted != null)
            {
                w.String(redacted.Text);
                w.Strings(redacted.Found);
            }
            var error = body as ErrorResponse;
            if (error != null)
            {
                w.Varint((ulong)error.Code);
                w.String(error.Message);
            }
            w.End();
        }

        /// <summary>Decodes one request body; throws <see cref="WireException"/> on any malformation.</summary>
        internal static RequestBody DecodeRequest(byte[] data, int offset, int count, out uint id)
        {
            var r = new WireReader(data, offset, count);
            id = r.U32();
            RequestBody body;
            switch (r.Tag(6))
            {
                case 0:
                    ushort version = r.U16();
                    string client = r.String();
                    body = new HelloRequest(version, client, r.OptionString());
                    break;
                case 1: body = new GetRequest(r.String()); break;
                case 2: body = ListRequest.Instance; break;
                case 3: body = new RenderRequest(r.String()); break;
                case 4: body = new RedactRequest(r.String()); break;
                default: body = PingRequest.Instance; break;
            }
            r.Finish();
            return body;
        }

        /// <summary>Decodes one response body; throws <see cref="WireException"/> on any malformation.</summary>
        internal static ResponseBody DecodeResponse(byte[] data, int offset, int count, out uint id)
        {
            var r = new WireReader(data, offset, count);
            id = r.U32();
            ResponseBody body;
            switch (r.Tag(7))
            {
                case 0:
                    ushort version = r.U16();
                    string sidecar = r.String();
                    body = new HelloResponse(version, sidecar, r.String());
                    break;
                case 1: body = new SecretResponse(r.OptionString()); break;
                case 2: body = new ListResponse(SecretInfos(ref r)); break;
                case 3:
                    string text = r.String();
                    body = new RenderedResponse(text, r.Strings());
                    break;
                case 4:
                    string redacted = r.String();
                    body = new RedactedResponse(redacted, r.Strings());
                    break;
                case 5: body = PongResponse.Instance; break;
                default:
                    ErrorCode code = ErrorCodes[r.Tag(ErrorCodes.Length)];
                    body = new ErrorResponse(code, r.String());
                    break;
            }
            r.Finish();
            return body;
        }

        private static List<SecretInfo> SecretInfos(ref WireReader r)
        {
            ulong count = r.U64();
            var secrets = new List<SecretInfo>();
            for (ulong i = 0; i < count; i++)
            {
                string name = r.String();
                uint version = r.U32();
                ulong updatedAt = r.U64();
                secrets.Add(new SecretInfo(name, version, updatedAt));
            }
            return secrets;
        }
    }
}
