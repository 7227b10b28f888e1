using System;
using System.Collections.Generic;
using System.IO;

namespace Ax.Secrets.Testing
{
    /// <summary>The codec and the frame reader: varints, limits, frames split at every byte.</summary>
    internal static class WireTests
    {
        internal static void Register(Harness h)
        {
            h.Test("wire: varints encode in their shortest form (PROTOCOL.md §4.1)", () =>
            {
                var table = new Dictionary<ulong, string>
                {
                    { 0, "00" }, { 1, "01" }, { 127, "7f" }, { 128, "8001" }, { 300, "ac02" },
                    { 16383, "ff7f" }, { 16384, "808001" }, { 2097151, "ffff7f" }, { 2097152, "80808001" },
                    { 268435455, "ffffff7f" }, { 268435456, "8080808001" }, { 4294967295, "ffffffff0f" },
                    { ulong.MaxValue, "ffffffffffffffffff01" },
                };
                foreach (KeyValuePair<ulong, string> row in table)
                {
                    var w = new WireWriter(16);
                    w.Begin();
                    w.Varint(row.Key);
                    Assert.Equal(row.Value, Hex.Of(Body(w)), "varint " + row.Key);
                    Assert.Equal(row.Value.Length / 2, WireWriter.VarintLength(row.Key), "length of " + row.Key);
                    byte[] bytes = Hex.Bytes(row.Value);
                    var r = new WireReader(bytes, 0, bytes.Length);
                    Assert.Equal(row.Key, r.Varint(64), "decoded " + row.Value);
                    r.Finish();
                }
            });
            h.Test("wire: decoders accept over-long varints within the type's width", () =>
            {
                Assert.Equal(1UL, Read("8100", 32));
                Assert.Equal(0UL, Read("8080808000", 32));
                Assert.Equal(3UL, Read("838000", 16));
            });
            h.Test("wire: varints over their type's width are refused", () =>
            {
                Refused("ffffffff10", 32, WireError.InvalidVarint);
                Refused("ffffffff8f01", 32, WireError.InvalidVarint);
                Refused("ffff04", 16, WireError.InvalidVarint);
                Refused("ffffffffffffffffff02", 64, WireError.InvalidVarint);
                Refused("ff", 32, WireError.UnexpectedEnd);
                Refused("", 32, WireError.UnexpectedEnd);
            });
            h.Test("wire: a string length past the body is UnexpectedEnd, before any allocation", () =>
            {
                byte[] bytes = Hex.Bytes("ffffffffffffffff7f41");
                Assert.Equal(WireError.UnexpectedEnd, Assert.Throws<WireException>(() => new WireReader(bytes, 0, bytes.Length).String()).Kind);
            });
            h.Test("wire: a huge sequence count runs into UnexpectedEnd", () =>
            {
                byte[] bytes = Hex.Bytes("0004" + "00" + "ffffffffffffffff7f");
                uint id;
                var e = Assert.Throws<WireException>(() => Codec.DecodeResponse(bytes, 0, bytes.Length, out id));
                Assert.Equal(WireError.UnexpectedEnd, e.Kind);
            });
            h.Test("wire: the Get fast path writes what the general encoder writes", () =>
            {
                foreach (string name in new[] { "A", "OPENAI_API_KEY", new string('Z', 128) })
                {
                    var fast = new WireWriter(8);
                    Codec.EncodeRequest(fast, 300, new GetRequest(name));
                    var slow = new WireWriter(8);
                    slow.Begin();
                    slow.Varint(300);
                    slow.Byte(1);
                    slow.String(name);
                    slow.End();
                    Assert.Equal(Hex.Of(Frame(slow)), Hex.Of(Frame(fast)), name);
                }
            });
            h.Test("wire: the writer refuses a lone surrogate without quoting the text", () =>
            {
                var w = new WireWriter(8);
                var e = Assert.Throws<ArgumentException>(() => w.String("p4ssw0rd\ud800value"));
                Assert.False(e.Message.Contains("p4ssw0rd") || e.Message.Contains("\ud800") || e.Message.Contains("D800"), "message: " + e.Message);
            });
            h.Test("wire: frames split at every byte boundary are read whole", () =>
            {
                byte[] stream = Concat(ValidResponseFrames());
                int frames = ValidResponseFrames().Count;
                for (int split = 0; split <= stream.Length; split++)
                {
                    var reader = new FrameReader(new SplitSource(stream, split), Limits.MaxResponseBody, 256);
                    var seen = new MemoryStream();
                    for (int i = 0; i < frames; i++)
                    {
                        ArraySegment<byte> body = reader.Next();
                        uint id;
                        Codec.DecodeResponse(body.Array, body.Offset, body.Count, out id);
                        seen.Write(new byte[] { (byte)(body.Count >> 24), (byte)(body.Count >> 16), (byte)(body.Count >> 8), (byte)body.Count }, 0, 4);
                        seen.Write(body.Array, body.Offset, body.Count);
                    }
                    Assert.Equal(Hex.Of(stream), Hex.Of(seen.ToArray()), "split at " + split);
                    Assert.Throws<BrokenException>(() => reader.Next(), "end of stream after the frames");
                }
            });
            h.Test("wire: a small frame is read with its prefix in one read", () =>
            {
                byte[] frame = Hex.Bytes("000000120701010e736b2d6c6976652d346632623963");
                var source = new ScriptedSource(frame, 1 << 20);
                var reader = new FrameReader(source, Limits.MaxResponseBody, Limits.ReadBufferSize);
                reader.Next();
                Assert.Equal(1, source.Reads, "reads");
            });
            h.Test("wire: an oversized frame is refused from its prefix, its body never read", () =>
            {
                byte[] stream = new byte[4 + 100];
                stream[0] = 0x01; stream[3] = 0x01; // 16 MiB + 1
                var source = new ScriptedSource(stream, 4);
                var reader = new FrameReader(source, Limits.MaxResponseBody, 64);
                Assert.Equal(WireError.FrameTooLarge, Assert.Throws<WireException>(() => reader.Next()).Kind);
                Assert.Equal(1, source.Reads, "reads");
            });
            h.Test("wire: a frame of exactly the limit is accepted, one byte more is not", () =>
            {
                byte[] at = Hex.Bytes("00000010" + new string('0', 32));
                Assert.Equal(16, new FrameReader(new ScriptedSource(at, 7), 16, 8).Next().Count);
                byte[] over = Hex.Bytes("00000011" + new string('0', 34));
                Assert.Throws<WireException>(() => new FrameReader(new ScriptedSource(over, 7), 16, 8).Next());
            });
            h.Test("wire: end of stream inside the length prefix or the body is an error", () =>
            {
                Assert.Throws<BrokenException>(() => new FrameReader(new ScriptedSource(Hex.Bytes("0000"), 1), 16, 8).Next());
                Assert.Throws<BrokenException>(() => new FrameReader(new ScriptedSource(Hex.Bytes("0000000501"), 1), 16, 8).Next());
                Assert.Throws<BrokenException>(() => new FrameReader(new ScriptedSource(Hex.Bytes("0000001001"), 1), 16, 4).Next());
            });
        }

        private static ulong Read(string hex, int bits)
        {
            byte[] bytes = Hex.Bytes(hex);
            var r = new WireReader(bytes, 0, bytes.Length);
            ulong value = r.Varint(bits);
            r.Finish();
            return value;
        }

        private static void Refused(string hex, int bits, WireError kind)
        {
            byte[] bytes = Hex.Bytes(hex);
            var e = Assert.Throws<WireException>(() => new WireReader(bytes, 0, bytes.Length).Varint(bits), hex);
            Assert.Equal(kind, e.Kind, hex);
        }

        private static byte[] Body(WireWriter w)
        {
            var body = new byte[w.BodyLength];
            Buffer.BlockCopy(w.Buffer, Limits.FrameHeaderLength, body, 0, body.Length);
            return body;
        }

        private static byte[] Frame(WireWriter w)
        {
            var frame = new byte[w.Length];
            Buffer.BlockCopy(w.Buffer, 0, frame, 0, frame.Length);
            return frame;
        }

        private static List<byte[]> ValidResponseFrames()
        {
            var frames = new List<byte[]>();
            string dir = Path.Combine(Paths.WorkspaceRoot(), "protocol", "vectors");
            foreach (object item in (List<object>)VectorTests.Load(dir, "responses.json")["tests"])
            {
                var test = (Dictionary<string, object>)item;
                // The small ones: a stream of about 700 bytes, split at each of its positions.
                if ((string)test["result"] == "valid" && ((string)test["hex"]).Length < 400)
                {
                    frames.Add(Hex.Bytes((string)test["hex"]));
                }
            }
            return frames;
        }

        private static byte[] Concat(List<byte[]> parts)
        {
            var all = new MemoryStream();
            foreach (byte[] part in parts)
            {
                all.Write(part, 0, part.Length);
            }
            return all.ToArray();
        }

        /// <summary>Hands out a stream in two reads: the first <c>split</c> bytes, then the rest.</summary>
        private sealed class SplitSource : ByteSource
        {
            private readonly byte[] data;
            private readonly int split;
            private int position;

            internal SplitSource(byte[] data, int split)
            {
                this.data = data;
                this.split = split;
            }

            internal override int Read(byte[] buffer, int offset, int count)
            {
                int limit = position < split ? split : data.Length;
                int n = Math.Min(count, limit - position);
                Buffer.BlockCopy(data, position, buffer, offset, n);
                position += n;
                return n;
            }
        }
    }
}
