using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading;
using Ax.Secrets.Conformance;

namespace Ax.Secrets.Testing
{
    /// <summary>The mock, and the rules it shares with the sidecar: names, templates, encodings, redaction.</summary>
    internal static class MockTests
    {
        private static MockAxiomContext Mock()
        {
            return new MockAxiomContext(new Dictionary<string, string>
            {
                { "GREETER_SIGNATURE", "test-sig" },
                { "EMPTY", "" },
                { "UNICODE", "pässwörd-密码-🔑" },
                { "SHORT", "k9" },
                { "lower", "abc" },
            });
        }

        internal static void Register(Harness h)
        {
            h.Test("mock: a secret of the map is found with its value", () =>
            {
                Assert.Equal(("test-sig", true), Mock().Secrets().Get("GREETER_SIGNATURE"));
                var got = Mock().Secrets().Get("UNICODE");
                Assert.True(got.Found, "found");
                Assert.Equal("pässwörd-密码-🔑", got.Value);
            });
            h.Test("mock: a missing secret is not found, with an empty value", () =>
            {
                Assert.Equal(("", false), Mock().Secrets().Get("MISSING"));
                Assert.False(Mock().Secrets().Exists("MISSING"), "exists");
            });
            h.Test("mock: an empty value is found", () =>
            {
                Assert.Equal(("", true), Mock().Secrets().Get("EMPTY"));
                Assert.True(Mock().Secrets().Exists("EMPTY"), "exists");
            });
            h.Test("mock: names are case-sensitive and invalid names are not found", () =>
            {
                Assert.False(Mock().Secrets().Exists("LOWER"), "LOWER");
                Assert.True(Mock().Secrets().Exists("lower"), "lower");
                foreach (string name in new[] { "", "1A", "has space", "ключ", "test-sig", new string('A', 129) })
                {
                    Assert.Equal(("", false), Mock().Secrets().Get(name), "name of " + name.Length + " chars");
                }
            });
            h.Test("mock: a null name is an ArgumentNullException", () =>
            {
                Assert.Throws<ArgumentNullException>(() => Mock().Secrets().Get(null));
            });
            h.Test("mock: list gives every name sorted bytewise, version 1, updated at 0", () =>
            {
                IReadOnlyList<SecretInfo> list = Mock().Secrets().List();
                var names = new List<string>();
                foreach (SecretInfo info in list)
                {
                    names.Add(info.Name);
                    Assert.Equal(1u, info.Version);
                    Assert.Equal(0UL, info.UpdatedAtUnixSeconds);
                    Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(0), info.UpdatedAt);
                }
                Assert.Sequence(new[] { "EMPTY", "GREETER_SIGNATURE", "SHORT", "UNICODE", "lower" }, names);
            });
            h.Test("results: an updated_at past the year 9999 is DateTimeOffset.MaxValue, not an exception", () =>
            {
                Assert.Equal(DateTimeOffset.MaxValue, new SecretInfo("A", 1, ulong.MaxValue).UpdatedAt);
                Assert.Equal(new DateTimeOffset(9999, 12, 31, 23, 59, 59, TimeSpan.Zero), new SecretInfo("A", 1, 253402300799).UpdatedAt);
            });
            h.Test("mock: the map's keys must be names; the message never shows the key", () =>
            {
                foreach (string key in new[] { "sk-live-123", "", "1A", new string('A', 129) })
                {
                    var e = Assert.Throws<ArgumentException>(() => new MockAxiomContext(new Dictionary<string, string> { { key, "v" } }));
                    Assert.False(key.Length > 0 && e.Message.Contains(key), "message shows the key: " + e.Message);
                }
                Assert.Throws<ArgumentNullException>(() => new MockAxiomContext(new Dictionary<string, string> { { "A", null } }));
                Assert.Throws<ArgumentException>(() => new MockAxiomContext(new Dictionary<string, string> { { "A", "bad\udc00" } }));
                Assert.Throws<ArgumentException>(() => new MockAxiomContext(new[]
                {
                    new KeyValuePair<string, string>("A", "1"), new KeyValuePair<string, string>("A", "2"),
                }));
                Assert.Throws<ArgumentNullException>(() => new MockAxiomContext(null));
            });
            h.Test("mock: the map is copied, and compared ordinally whatever its comparer", () =>
            {
                var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { { "Key", "v" } };
                var ax = new MockAxiomContext(map);
                map["Key"] = "changed";
                Assert.Equal(("v", true), ax.Secrets().Get("Key"));
                Assert.False(ax.Secrets().Exists("KEY"), "KEY");
            });
            h.Test("mock: render replaces references, keeps missing ones and lists them once", () =>
            {
                Rendered r = Mock().Secrets().Render("sig={{ secrets.GREETER_SIGNATURE }} m={{secrets.M}} {{secrets.M}} [{{secrets.EMPTY}}]");
                Assert.Equal("sig=test-sig m={{secrets.M}} {{secrets.M}} []", r.Text);
                Assert.Sequence(new[] { "M" }, r.Missing);
                Assert.False(r.ToString().Contains("test-sig"), "ToString shows the text: " + r);
            });
            h.Test("mock: render is one pass and the first brace of {{{ is text", () =>
            {
                var ax = new MockAxiomContext(new Dictionary<string, string> { { "LOOP", "{{secrets.A}}" }, { "A", "x" } });
                Assert.Equal("{{secrets.A}}", ax.Secrets().Render("{{secrets.LOOP}}").Text);
                Assert.Equal("{x}", ax.Secrets().Render("{{{secrets.A}}}").Text);
            });
            h.Test("mock: render and redact refuse null and lone surrogates, without quoting the text", () =>
            {
                Assert.Throws<ArgumentNullException>(() => Mock().Secrets().Render(null));
                Assert.Throws<ArgumentNullException>(() => Mock().Secrets().Redact(null));
                var e = Assert.Throws<ArgumentException>(() => Mock().Secrets().Redact("test-sig \ud800"));
                Assert.False(e.Message.Contains("test-sig"), "message: " + e.Message);
                Assert.Throws<ArgumentException>(() => Mock().Secrets().Render("{{secrets.A}}\udfff"));
            });
            h.Test("mock: render and redact refuse a text over the request limit, as the sidecar would", () =>
            {
                string big = new string('x', Limits.MaxRequestBody);
                Assert.Throws<RequestTooLargeException>(() => Mock().Secrets().Redact(big));
                Assert.Throws<RequestTooLargeException>(() => Mock().Secrets().Render(big));
                Assert.Equal(Limits.MaxRequestBody - 6, Mock().Secrets().Redact(big.Substring(6)).Text.Length);
            });
            h.Test("redact: replaces values and their encodings", () =>
            {
                var ax = new MockAxiomContext(new Dictionary<string, string> { { "A", "p@ss/wörd" }, { "B", "token-123" } });
                Redacted r = ax.Secrets().Redact("raw p@ss/wörd b64 cEBzcy93w7ZyZA== url p%40ss%2Fw%C3%B6rd json p@ss/w\\u00f6rd");
                Assert.Equal("raw *** b64 *** url *** json ***", r.Text);
                Assert.Sequence(new[] { "A" }, r.Found);
                r = ax.Secrets().Redact("nothing here");
                Assert.Equal("nothing here", r.Text);
                Assert.Equal(0, r.Found.Count);
            });
            h.Test("redact: prefers the longest match and reports every owner, sorted", () =>
            {
                var ax = new MockAxiomContext(new Dictionary<string, string> { { "SHORT", "abcd" }, { "LONG", "abcdefgh" }, { "TWIN", "abcd" } });
                Redacted r = ax.Secrets().Redact("xabcdefghx abcd");
                Assert.Equal("x***x ***", r.Text);
                Assert.Sequence(new[] { "LONG", "SHORT", "TWIN" }, r.Found);
            });
            h.Test("redact: leftmost wins over longer later matches; matches do not nest", () =>
            {
                var ax = new MockAxiomContext(new Dictionary<string, string> { { "A", "abcd" }, { "B", "cdefgh" } });
                Redacted r = ax.Secrets().Redact("abcdefgh");
                Assert.Equal("***efgh", r.Text);
                Assert.Sequence(new[] { "A" }, r.Found);
                // SHORT ("k9") is under the 4-byte minimum: never masked.
                r = Mock().Secrets().Redact("k9k9 and k9");
                Assert.Equal("k9k9 and k9", r.Text);
            });
            h.Test("redact: what .NET itself prints is masked", () =>
            {
                string value = "p@ss w/\u00fc<&>'\"()*~";
                var ax = new MockAxiomContext(new Dictionary<string, string> { { "V", value } });
                string text = Uri.EscapeDataString(value) + " " + System.Net.WebUtility.UrlEncode(value);
                Redacted r = ax.Secrets().Redact(text);
                Assert.Equal("*** ***", r.Text);
                Assert.Sequence(new[] { "V" }, r.Found);
            });
            h.Test("redact: never matches empty values; found is sorted bytewise", () =>
            {
                var ax = new MockAxiomContext(new Dictionary<string, string> { { "EMPTY", "" }, { "lower", "abcd" }, { "UNICODE", "pässwörd-密码-🔑" } });
                Redacted r = ax.Secrets().Redact("[] \"\" abcd pässwörd-密码-🔑");
                Assert.Equal("[] \"\" *** ***", r.Text);
                Assert.Sequence(new[] { "UNICODE", "lower" }, r.Found);
            });
            h.Test("redact: the JSON forms with and without \\u escapes, and percent-encoding", () =>
            {
                var ax = new MockAxiomContext(new Dictionary<string, string> { { "Q", "say \"hi\"\\n\tthen\u0001go" }, { "U", "grüß 🌍" } });
                Assert.Equal("{\"m\": \"***\"}", ax.Secrets().Redact("{\"m\": \"say \\\"hi\\\"\\\\n\\tthen\\u0001go\"}").Text);
                Assert.Equal("***|***|***", ax.Secrets().Redact("gr\\u00fc\\u00df \\ud83c\\udf0d|grüß 🌍|gr%C3%BC%C3%9F%20%F0%9F%8C%8D").Text);
            });
            h.Test("encodings: base64 matches the RFC 4648 test vectors", () =>
            {
                var cases = new[] { "", "", "f", "Zg==", "fo", "Zm8=", "foo", "Zm9v", "foob", "Zm9vYg==", "fooba", "Zm9vYmE=", "foobar", "Zm9vYmFy" };
                for (int i = 0; i < cases.Length; i += 2)
                {
                    string[] forms = Encodings.Forms(cases[i]);
                    Assert.Equal(cases[i + 1], forms[1], "padded " + cases[i]);
                    Assert.Equal(cases[i + 1].TrimEnd('='), forms[2], "unpadded " + cases[i]);
                }
                Assert.Equal("w7vDvw==", Encodings.Forms("\u00fb\u00ff")[1]);
                string[] url = Encodings.Forms("\u00fb\u00ff?>");
                Assert.Equal("w7vDvz8-", url[3], "base64url");
                Assert.Equal("w7vDvz8+", url[1], "base64");
            });
            h.Test("encodings: JSON escaping like common encoders", () =>
            {
                Assert.Equal("a\\\"b\\\\c\\nd\\u0001\\b\\f\\r\\t", Encodings.JsonEscaped("a\"b\\c\nd\u0001\b\f\r\t", false));
                Assert.Equal("grüß 🌍\u007f", Encodings.JsonEscaped("grüß 🌍\u007f", false));
                Assert.Equal("gr\\u00fc\\u00df \\ud83c\\udf0d", Encodings.JsonEscaped("grüß 🌍", true));
            });
            h.Test("encodings: percent-encodes all but the unreserved set, upper-case", () =>
            {
                Assert.Equal("a-b.c_d~e", Encodings.PercentEncoded(Encoding.UTF8.GetBytes("a-b.c_d~e")));
                Assert.Equal("p%40ss%20w%2F%C3%BC", Encodings.PercentEncoded(Encoding.UTF8.GetBytes("p@ss w/ü")));
            });
            h.Test("mock: safe to share between threads", () =>
            {
                IAxiomContext ax = Mock();
                int wrong = 0;
                var threads = new List<Thread>();
                for (int i = 0; i < 8; i++)
                {
                    var t = new Thread(() =>
                    {
                        for (int k = 0; k < 200; k++)
                        {
                            if (!ax.Secrets().Get("SHORT").Equals(("k9", true)) || ax.Secrets().Redact("k9").Text != "k9")
                            {
                                Interlocked.Increment(ref wrong);
                            }
                        }
                    });
                    threads.Add(t);
                    t.Start();
                }
                foreach (Thread t in threads)
                {
                    t.Join();
                }
                Assert.Equal(0, wrong, "wrong answers");
            });
            h.Test("mock: ToString shows names, never values", () =>
            {
                IAxiomContext ax = Mock();
                string shown = ax.ToString() + ax.Secrets().ToString() + ax.Secrets().Render("{{secrets.SHORT}}")
                    + ax.Secrets().Redact("test-sig") + ax.Secrets().List()[0];
                Assert.True(shown.Contains("GREETER_SIGNATURE"), shown);
                Assert.False(shown.Contains("test-sig") || shown.Contains("k9"), shown);
            });
            h.Test("mock: code written against IAxiomContext runs on the mock and the client alike", () =>
            {
                Func<IAxiomContext, string> node = ax =>
                {
                    var signature = ax.Secrets().Get("GREETER_SIGNATURE");
                    return signature.Found ? "signed:" + signature.Value : "unsigned";
                };
                Assert.Equal("signed:test-sig", node(Mock()));
                using (IAxiomContext real = new AxiomContext("/nonexistent/ax.sock"))
                {
                    Assert.Throws<SecretsUnavailableException>(() => node(real));
                }
            });
            RegisterScenarios(h);
        }

        /// <summary>The conformance scenarios that also run on the mock, in process, through the driver.</summary>
        private static void RegisterScenarios(Harness h)
        {
            string dir = Path.Combine(Paths.WorkspaceRoot(), "integration", "conformance");
            var doc = (Dictionary<string, object>)Json.Parse(File.ReadAllText(Path.Combine(dir, "scenarios.json"), Encoding.UTF8));
            var secrets = (Dictionary<string, object>)Json.Parse(File.ReadAllText(Path.Combine(dir, "secrets.json"), Encoding.UTF8));
            var map = new Dictionary<string, string>();
            foreach (string part in new[] { "secrets", "overrides" })
            {
                foreach (KeyValuePair<string, object> entry in (Dictionary<string, object>)secrets[part])
                {
                    var withMetadata = entry.Value as Dictionary<string, object>;
                    map[entry.Key] = withMetadata != null ? (string)withMetadata["value"] : (string)entry.Value;
                }
            }
            foreach (object item in (List<object>)doc["scenarios"])
            {
                var scenario = (Dictionary<string, object>)item;
                if ((bool)scenario["live_only"])
                {
                    continue;
                }
                h.Test("mock conformance: " + scenario["name"], () =>
                {
                    var driver = new Driver(new MockAxiomContext(map));
                    int number = 0;
                    foreach (object s in (List<object>)scenario["steps"])
                    {
                        number++;
                        var step = (Dictionary<string, object>)s;
                        var answer = driver.Answer((Dictionary<string, object>)step["request"]);
                        Assert.Json(step["expect"], Json.Parse(Json.Write(answer)), "step " + number);
                    }
                });
            }
        }
    }
}
