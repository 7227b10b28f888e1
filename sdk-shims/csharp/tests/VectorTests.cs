using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Ax.Secrets.Testing
{
    /// <summary>A vector file breaks the format of PROTOCOL.md §10.2.</summary>
    internal sealed class VectorFileException : Exception
    {
        internal VectorFileException(string message) : base(message) { }
    }

    /// <summary>
    /// Every shared vector of protocol/vectors/, one named test each (PROTOCOL.md §10.2), with
    /// the loader's strict key checks: an unknown key at file or test level fails.
    /// </summary>
    internal static class VectorTests
    {
        private static readonly string[] MessageFiles = { "requests.json", "requests-large.json", "responses.json", "responses-large.json" };
        private static readonly string[] FileKeys = { "schema", "area", "description", "numberOfTests", "tests" };
        private static readonly string[] MessageFileKeys = { "schema", "area", "description", "numberOfTests", "tests", "direction", "limit" };
        private static readonly string[] TestKeys = { "id", "comment", "flags", "hex", "value", "result", "error" };

        internal static void Register(Harness h)
        {
            string dir = Path.Combine(Paths.WorkspaceRoot(), "protocol", "vectors");
            var covered = new HashSet<string>();
            foreach (string file in MessageFiles)
            {
                Dictionary<string, object> data = Load(dir, file);
                covered.Add(file);
                foreach (Dictionary<string, object> test in Tests(data))
                {
                    var t = test;
                    h.Test("vectors " + file + "#" + t["id"] + " " + t["comment"], () => MessageVector(data, t));
                }
            }
            foreach (string file in new[] { "responses.json", "responses-large.json" })
            {
                Dictionary<string, object> data = Load(dir, file);
                foreach (Dictionary<string, object> test in Tests(data))
                {
                    var t = test;
                    h.Test("vectors " + file + "#" + t["id"] + " through the client's frame reader", () => ThroughReader(data, t));
                }
            }
            RegisterFile(h, dir, "names.json", covered, NameVector);
            RegisterFile(h, dir, "templates.json", covered, TemplateVector);
            RegisterFile(h, dir, "bundles.json", covered, BundleVectorShape);
            RegisterFile(h, dir, "redaction.json", covered, RedactionVectors.Run);

            h.Test("vectors: every file of protocol/vectors is covered", () =>
            {
                foreach (string path in Directory.GetFiles(dir, "*.json"))
                {
                    Assert.True(covered.Contains(Path.GetFileName(path)), Path.GetFileName(path) + " has no test");
                }
            });
            h.Test("vectors: the loader refuses an unknown key at file level", () =>
            {
                var data = NamesFile(new List<object>());
                data["extra"] = 1L;
                Assert.Throws<VectorFileException>(() => Check("x.json", data));
            });
            h.Test("vectors: the loader refuses an unknown key at test level", () =>
            {
                var test = (Dictionary<string, object>)Json.Parse(
                    "{\"id\": 1, \"comment\": \"\", \"flags\": [], \"hex\": \"41\", \"value\": \"A\", \"result\": \"valid\", \"error\": null, \"surprise\": true}");
                Assert.Throws<VectorFileException>(() => Check("x.json", NamesFile(new List<object> { test })));
            });
            h.Test("vectors: the loader refuses a wrong test count", () =>
            {
                var data = NamesFile(new List<object>());
                data["numberOfTests"] = 2L;
                Assert.Throws<VectorFileException>(() => Check("x.json", data));
            });
            h.Test("vectors: canonical JSON refuses an unknown message field", () =>
            {
                var value = (Dictionary<string, object>)Json.Parse("{\"id\": 1, \"type\": \"Get\", \"name\": \"A\", \"extra\": 1}");
                Assert.Throws<VectorFileException>(() => MessageJson.Encode("request", value));
            });
        }

        private static void RegisterFile(Harness h, string dir, string file, HashSet<string> covered, Action<Dictionary<string, object>> run)
        {
            Dictionary<string, object> data = Load(dir, file);
            covered.Add(file);
            foreach (Dictionary<string, object> test in Tests(data))
            {
                var t = test;
                h.Test("vectors " + file + "#" + t["id"] + " " + t["comment"], () => run(t));
            }
        }

        private static Dictionary<string, object> NamesFile(List<object> tests)
        {
            return new Dictionary<string, object>
            {
                { "schema", "ax-protocol/names/v1" }, { "area", "x" }, { "description", "x" },
                { "numberOfTests", (long)tests.Count }, { "tests", tests },
            };
        }

        private static IEnumerable<Dictionary<string, object>> Tests(Dictionary<string, object> data)
        {
            foreach (object test in (List<object>)data["tests"])
            {
                yield return (Dictionary<string, object>)test;
            }
        }

        internal static Dictionary<string, object> Load(string dir, string file)
        {
            string text = File.ReadAllText(Path.Combine(dir, file), Encoding.UTF8);
            var data = Json.Parse(text) as Dictionary<string, object>;
            if (data == null)
            {
                throw new VectorFileException(file + ": not a JSON object");
            }
            Check(file, data);
            return data;
        }

        internal static void Check(string file, Dictionary<string, object> data)
        {
            object schema;
            data.TryGetValue("schema", out schema);
            string[] expected;
            switch (schema as string)
            {
                case "ax-protocol/messages/v2": expected = MessageFileKeys; break;
                case "ax-protocol/names/v1":
                case "ax-protocol/templates/v1":
                case "ax-protocol/bundles/v1":
                case "ax-protocol/redaction/v1": expected = FileKeys; break;
                default: throw new VectorFileException(file + ": unknown schema " + schema);
            }
            ExactKeys(data, expected, file);
            var tests = data["tests"] as List<object>;
            if (tests == null || !Json.Equal(data["numberOfTests"], (long)tests.Count))
            {
                throw new VectorFileException(file + ": numberOfTests is not the number of tests");
            }
            var seen = new HashSet<long>();
            foreach (object item in tests)
            {
                var test = item as Dictionary<string, object>;
                if (test == null)
                {
                    throw new VectorFileException(file + ": a test is not an object");
                }
                ExactKeys(test, TestKeys, file + "#" + (test.ContainsKey("id") ? test["id"] : "?"));
                string result = test["result"] as string;
                if (result != "valid" && result != "invalid")
                {
                    throw new VectorFileException(file + "#" + test["id"] + ": result " + result);
                }
                if ((test["error"] == null) != (result == "valid"))
                {
                    throw new VectorFileException(file + "#" + test["id"] + ": error does not fit result");
                }
                if (!(test["id"] is long) || !seen.Add((long)test["id"]))
                {
                    throw new VectorFileException(file + "#" + test["id"] + ": id missing or repeated");
                }
            }
        }

        internal static void ExactKeys(Dictionary<string, object> obj, string[] keys, string where)
        {
            var wanted = new HashSet<string>(keys);
            if (obj.Count != wanted.Count || !wanted.SetEquals(obj.Keys))
            {
                throw new VectorFileException(where + ": keys [" + string.Join(", ", obj.Keys) + "] are not [" + string.Join(", ", keys) + "]");
            }
        }

        private static bool HasFlag(Dictionary<string, object> test, string flag)
        {
            return ((List<object>)test["flags"]).Contains(flag);
        }

        private static void MessageVector(Dictionary<string, object> data, Dictionary<string, object> test)
        {
            byte[] stream = Hex.Bytes((string)test["hex"]);
            string direction = (string)data["direction"];
            int limit = (int)(long)data["limit"];
            if ((string)test["result"] == "valid")
            {
                ArraySegment<byte> body = Codec.FrameOfStream(stream, limit);
                Assert.Json(test["value"], MessageJson.Decode(direction, body), "decoded");
                byte[] again = MessageJson.Encode(direction, (Dictionary<string, object>)test["value"]);
                if (HasFlag(test, "NonCanonical"))
                {
                    Assert.False(Hex.Of(again) == Hex.Of(stream), "the re-encoding is canonical, so differs");
                    Assert.Json(test["value"], MessageJson.Decode(direction, Codec.FrameOfStream(again, limit)), "re-decoded");
                }
                else
                {
                    Assert.Equal(Hex.Of(stream), Hex.Of(again), "re-encoded");
                }
            }
            else
            {
                Assert.True(test["value"] == null, "an invalid vector has no value");
                var refused = Assert.Throws<WireException>(() => MessageJson.Decode(direction, Codec.FrameOfStream(stream, limit)), "decoding");
                Assert.Equal((string)test["error"], refused.Kind.ToString(), "error");
            }
        }

        /// <summary>The client's own reader, fed the stream a byte at a time, refuses and accepts the same.</summary>
        private static void ThroughReader(Dictionary<string, object> data, Dictionary<string, object> test)
        {
            byte[] stream = Hex.Bytes((string)test["hex"]);
            var reader = new FrameReader(new ScriptedSource(stream, 1), Limits.MaxResponseBody, 64);
            string error = test["error"] as string;
            if (error == null)
            {
                Assert.Json(test["value"], MessageJson.Decode("response", reader.Next()), "decoded");
                Assert.Throws<BrokenException>(() => reader.Next(), "reading past the end");
            }
            else if (error == "Truncated")
            {
                Assert.Throws<BrokenException>(() => reader.Next(), "reading a cut-short frame");
            }
            else if (error == "FrameTooLarge")
            {
                var refused = Assert.Throws<WireException>(() => reader.Next(), "reading an oversized frame");
                Assert.Equal(WireError.FrameTooLarge, refused.Kind);
            }
            else
            {
                ArraySegment<byte> body = reader.Next();
                var refused = Assert.Throws<WireException>(() => MessageJson.Decode("response", body), "decoding");
                Assert.Equal(error, refused.Kind.ToString(), "error");
            }
        }

        private static void NameVector(Dictionary<string, object> test)
        {
            string name = (string)test["value"];
            Assert.Equal((string)test["hex"], Hex.Of(Encoding.UTF8.GetBytes(name)), "hex is the name's UTF-8");
            Assert.Equal((string)test["result"] == "valid", Names.IsValid(name), "valid");
            Assert.Equal(test["error"] as string, Names.Problem(name), "problem");
            var map = new Dictionary<string, string> { { name, "v" } };
            if (Names.IsValid(name))
            {
                Assert.Equal(("v", true), new MockSecrets(map).Get(name), "the mock finds it");
            }
            else
            {
                Assert.Throws<ArgumentException>(() => new MockSecrets(map), "the mock refuses it as a key");
            }
        }

        private static void TemplateVector(Dictionary<string, object> test)
        {
            var value = (Dictionary<string, object>)test["value"];
            ExactKeys(value, new[] { "template", "secrets", "segments", "rendered", "missing" }, "value");
            string template = (string)value["template"];
            Assert.Equal((string)test["hex"], Hex.Of(Encoding.UTF8.GetBytes(template)), "hex is the template's UTF-8");
            var expected = new List<Segment>();
            foreach (object item in (List<object>)value["segments"])
            {
                var segment = (Dictionary<string, object>)item;
                if (segment.Count == 1 && segment.ContainsKey("text"))
                {
                    expected.Add(Segment.Literal((string)segment["text"]));
                }
                else if (segment.Count == 2 && segment.ContainsKey("reference") && segment.ContainsKey("raw"))
                {
                    expected.Add(Segment.Reference((string)segment["reference"], (string)segment["raw"]));
                }
                else
                {
                    throw new VectorFileException("unknown segment keys [" + string.Join(", ", segment.Keys) + "]");
                }
            }
            Assert.Sequence(expected, Template.Segments(template), "segments");
            var secrets = new Dictionary<string, string>();
            foreach (KeyValuePair<string, object> entry in (Dictionary<string, object>)value["secrets"])
            {
                secrets.Add(entry.Key, (string)entry.Value);
            }
            List<string> missing;
            string rendered = Template.Render(template, n => secrets.ContainsKey(n) ? secrets[n] : null, out missing);
            Assert.Equal((string)value["rendered"], rendered, "rendered");
            Assert.Json(value["missing"], missing, "missing");
            Rendered mock = new MockAxiomContext(secrets).Secrets().Render(template);
            Assert.Equal((string)value["rendered"], mock.Text, "the mock's text");
            Assert.Json(value["missing"], new List<string>(mock.Missing), "the mock's missing");
        }

        private static readonly string[] BundleValueKeys =
        {
            "format", "key", "control_plane_public_key", "expected_execution_id", "now",
            "seal_randomness", "signing_seed", "plaintext", "bundle",
        };
        private static readonly string[] BundleKeys =
        {
            "tenant", "execution_id", "environment", "config", "issued_at", "expires_at", "secrets", "overrides",
        };
        private static readonly string[] BundleSecretKeys = { "name", "value", "version", "created_at", "updated_at" };
        private static readonly string[] BundleErrors =
        {
            "BadMagic", "Truncated", "LengthMismatch", "BadSignature", "WrongExecution",
            "BadEncapsulatedKey", "DecryptionFailed", "NotYetValid", "Expired",
        };

        /// <summary>
        /// Shims never open bundles (only the sidecar does), so this checks each vector's shape
        /// with the same strict key rules; it verifies no cryptography.
        /// </summary>
        private static void BundleVectorShape(Dictionary<string, object> test)
        {
            byte[] sealed_ = Hex.Bytes((string)test["hex"]);
            var value = (Dictionary<string, object>)test["value"];
            ExactKeys(value, BundleValueKeys, "value");
            string format = (string)value["format"];
            string magic = format == "envelope" ? "ax-secrets/bundle/v1\n" : format == "local" ? "ax-secrets/local-bundle/v1\n" : null;
            Assert.True(magic != null, "format is envelope or local");
            Assert.True(value["now"] is long || value["now"] is ulong, "now is an integer");
            Hex.Bytes((string)value["key"]);
            Hex.Bytes((string)value["seal_randomness"]);
            if ((test["error"] as string) != "BadMagic")
            {
                byte[] m = Encoding.ASCII.GetBytes(magic);
                Assert.True(sealed_.Length >= m.Length && Hex.Of(sealed_).StartsWith(Hex.Of(m), StringComparison.Ordinal), "starts with the magic");
            }
            if ((string)test["result"] == "valid")
            {
                Hex.Bytes((string)value["plaintext"]);
                var bundle = (Dictionary<string, object>)value["bundle"];
                ExactKeys(bundle, BundleKeys, "bundle");
                var entries = new List<object>((List<object>)bundle["secrets"]);
                entries.AddRange((List<object>)bundle["overrides"]);
                foreach (object entry in entries)
                {
                    var secret = (Dictionary<string, object>)entry;
                    ExactKeys(secret, BundleSecretKeys, "bundle secret");
                    Assert.True(Names.IsValid((string)secret["name"]), "a bundle's names are valid");
                }
            }
            else
            {
                Assert.True(value["bundle"] == null && value["plaintext"] == null, "an invalid bundle has no plaintext");
                Assert.True(Array.IndexOf(BundleErrors, (string)test["error"]) >= 0, "a known refusal");
            }
        }
    }

    /// <summary>A byte source that hands out a fixed stream, at most <c>chunk</c> bytes a read.</summary>
    internal sealed class ScriptedSource : ByteSource
    {
        private readonly byte[] data;
        private readonly int chunk;
        private int position;

        internal ScriptedSource(byte[] data, int chunk)
        {
            this.data = data;
            this.chunk = chunk;
        }

        internal int Reads { get; private set; }

        internal override int Read(byte[] buffer, int offset, int count)
        {
            Reads++;
            int n = Math.Min(Math.Min(count, chunk), data.Length - position);
            Buffer.BlockCopy(data, position, buffer, offset, n);
            position += n;
            return n;
        }
    }
}
