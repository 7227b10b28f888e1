using System;
using System.Collections.Generic;

namespace Ax.Secrets.Testing
{
    /// <summary>
    /// Messages to and from the vectors' canonical JSON (PROTOCOL.md §10.2): an object with
    /// <c>id</c>, <c>type</c> and the variant's fields by name; options as null or the value;
    /// error codes and sources by name.
    /// </summary>
    internal static class MessageJson
    {
        /// <summary>Decodes a frame body and gives its canonical JSON.</summary>
        internal static Dictionary<string, object> Decode(string direction, ArraySegment<byte> body)
        {
            uint id;
            if (direction == "request")
            {
                RequestBody request = Codec.DecodeRequest(body.Array, body.Offset, body.Count, out id);
                return Request(request, id);
            }
            ResponseBody response = Codec.DecodeResponse(body.Array, body.Offset, body.Count, out id);
            return Response(response, id);
        }

        /// <summary>Encodes the message a canonical JSON object stands for, as a whole frame.</summary>
        internal static byte[] Encode(string direction, Dictionary<string, object> value)
        {
            var w = new WireWriter(64);
            uint id = checked((uint)(long)value["id"]);
            string type = (string)value["type"];
            if (direction == "request")
            {
                Codec.EncodeRequest(w, id, ToRequest(type, value));
            }
            else
            {
                Codec.EncodeResponse(w, id, ToResponse(type, value));
            }
            var frame = new byte[w.Length];
            Buffer.BlockCopy(w.Buffer, 0, frame, 0, w.Length);
            return frame;
        }

        private static Dictionary<string, object> Request(RequestBody body, uint id)
        {
            var o = Head(id, body.Kind);
            var hello = body as HelloRequest;
            if (hello != null)
            {
                o["version"] = (long)hello.Version;
                o["client"] = hello.Client;
                o["token"] = hello.Token;
            }
            var get = body as GetRequest;
            if (get != null)
            {
                o["name"] = get.Name;
            }
            var render = body as RenderRequest;
            if (render != null)
            {
                o["template"] = render.Template;
            }
            var redact = body as RedactRequest;
            if (redact != null)
            {
                o["text"] = redact.Text;
            }
            return o;
        }

        private static Dictionary<string, object> Response(ResponseBody body, uint id)
        {
            var o = Head(id, body.Kind);
            var hello = body as HelloResponse;
            if (hello != null)
            {
                o["version"] = (long)hello.Version;
                o["sidecar"] = hello.Sidecar;
                o["execution_id"] = hello.ExecutionId;
            }
            var secret = body as SecretResponse;
            if (secret != null)
            {
                o["value"] = secret.Value;
            }
            var list = body as ListResponse;
            if (list != null)
            {
                var secrets = new List<object>();
                foreach (SecretInfo info in list.Secrets)
                {
                    secrets.Add(new Dictionary<string, object>
                    {
                        { "name", info.Name }, { "version", (long)info.Version },
                        { "updated_at", info.UpdatedAtUnixSeconds },
                    });
                }
                o["secrets"] = secrets;
            }
            var rendered = body as RenderedResponse;
            if (rendered != null)
            {
                o["text"] = rendered.Text;
                o["missing"] = rendered.Missing;
            }
            var redacted = body as RedactedResponse;
            if (redacted != null)
            {
                o["text"] = redacted.Text;
                o["found"] = redacted.Found;
            }
            var error = body as ErrorResponse;
            if (error != null)
            {
                o["code"] = error.Code.ToString();
                o["message"] = error.Message;
            }
            return o;
        }

        private static Dictionary<string, object> Head(uint id, string type)
        {
            return new Dictionary<string, object> { { "id", (long)id }, { "type", type } };
        }

        private static RequestBody ToRequest(string type, Dictionary<string, object> v)
        {
            switch (type)
            {
                case "Hello":
                    Fields(v, "version", "client", "token");
                    return new HelloRequest(checked((ushort)(long)v["version"]), (string)v["client"], (string)v["token"]);
                case "Get":
                    Fields(v, "name");
                    return new GetRequest((string)v["name"]);
                case "List":
                    Fields(v);
                    return ListRequest.Instance;
                case "Render":
                    Fields(v, "template");
                    return new RenderRequest((string)v["template"]);
                case "Redact":
                    Fields(v, "text");
                    return new RedactRequest((string)v["text"]);
                case "Ping":
                    Fields(v);
                    return PingRequest.Instance;
                default:
                    throw new VectorFileException("unknown request type " + type);
            }
        }

        private static ResponseBody ToResponse(string type, Dictionary<string, object> v)
        {
            switch (type)
            {
                case "Hello":
                    Fields(v, "version", "sidecar", "execution_id");
                    return new HelloResponse(checked((ushort)(long)v["version"]), (string)v["sidecar"], (string)v["execution_id"]);
                case "Secret":
                    Fields(v, "value");
                    return new SecretResponse((string)v["value"]);
                case "List":
                    Fields(v, "secrets");
                    var secrets = new List<SecretInfo>();
                    foreach (object item in (List<object>)v["secrets"])
                    {
                        var info = (Dictionary<string, object>)item;
                        VectorTests.ExactKeys(info, new[] { "name", "version", "updated_at" }, "SecretInfo");
                        secrets.Add(new SecretInfo(
                            (string)info["name"],
                            checked((uint)(long)info["version"]),
                            U64(info["updated_at"])));
                    }
                    return new ListResponse(secrets);
                case "Rendered":
                    Fields(v, "text", "missing");
                    return new RenderedResponse((string)v["text"], Strings(v["missing"]));
                case "Redacted":
                    Fields(v, "text", "found");
                    return new RedactedResponse((string)v["text"], Strings(v["found"]));
                case "Pong":
                    Fields(v);
                    return PongResponse.Instance;
                case "Error":
                    Fields(v, "code", "message");
                    return new ErrorResponse((ErrorCode)Enum.Parse(typeof(ErrorCode), (string)v["code"]), (string)v["message"]);
                default:
                    throw new VectorFileException("unknown response type " + type);
            }
        }

        private static ulong U64(object number)
        {
            return number is ulong ? (ulong)number : checked((ulong)(long)number);
        }

        private static List<string> Strings(object list)
        {
            var out_ = new List<string>();
            foreach (object item in (List<object>)list)
            {
                out_.Add((string)item);
            }
            return out_;
        }

        /// <summary>Requires exactly these fields besides <c>id</c> and <c>type</c>.</summary>
        private static void Fields(Dictionary<string, object> v, params string[] fields)
        {
            var all = new List<string> { "id", "type" };
            all.AddRange(fields);
            VectorTests.ExactKeys(v, all.ToArray(), "message " + v["type"]);
        }
    }
}
