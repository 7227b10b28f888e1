using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;

namespace Ax.Secrets.Testing
{
    /// <summary>The client against a real ax-sidecar built from this repository.</summary>
    internal static class LiveTests
    {
        private static readonly string Big = Repeat("0123456789abcdef", 1024 * 1024 / 16); // exactly 1 MiB
        private static readonly List<IDisposable> Started = new List<IDisposable>();

        private static Dictionary<string, object> Secrets()
        {
            return new Dictionary<string, object>
            {
                { "OPENAI_API_KEY", "sk-live-4f2b9c" },
                { "EMPTY", "" },
                { "UNICODE", "pässwörd-密码-🔑" },
                { "DB_URL", new Dictionary<string, object> { { "value", "postgres://u:p@db/x" }, { "version", 3L }, { "updated_at", 1795000000L } } },
                { "WEBHOOK", "whk_tenant" },
                { "SHORT", "k9" },
            };
        }

        private static Dictionary<string, object> Overrides()
        {
            return new Dictionary<string, object>
            {
                { "WEBHOOK", new Dictionary<string, object> { { "value", "whk_override" }, { "version", 9L }, { "updated_at", 1796000000L } } },
                { "ONLY_OVERRIDE", "only" },
            };
        }

        internal static void Register(Harness h)
        {
            Sidecar shared = null;
            h.Test("live: the sidecar starts and signals ready", () =>
            {
                shared = Track(new Sidecar(Secrets(), Overrides(), Sidecar.NewToken()));
                shared.Start();
            });
            if (shared == null)
            {
                return;
            }
            var ax = Track(new AxiomContext(shared.Socket, shared.Token));

            h.Test("live: a secret is found with its value", () =>
            {
                Assert.Equal(("sk-live-4f2b9c", true), ax.Secrets().Get("OPENAI_API_KEY"));
            });
            h.Test("live: a missing secret is not found, never an exception", () =>
            {
                Assert.Equal(("", false), ax.Secrets().Get("NOPE"));
                Assert.False(ax.Secrets().Exists("NOPE"), "exists");
            });
            h.Test("live: an empty value is found", () =>
            {
                Assert.Equal(("", true), ax.Secrets().Get("EMPTY"));
                Assert.True(ax.Secrets().Exists("EMPTY"), "exists");
            });
            h.Test("live: a unicode value comes back exactly", () =>
            {
                Assert.Equal(("pässwörd-密码-🔑", true), ax.Secrets().Get("UNICODE"));
            });
            h.Test("live: an override wins, and may add a name", () =>
            {
                Assert.Equal(("whk_override", true), ax.Secrets().Get("WEBHOOK"));
                Assert.Equal(("only", true), ax.Secrets().Get("ONLY_OVERRIDE"));
            });
            h.Test("live: invalid and non-ASCII names are not found", () =>
            {
                foreach (string name in new[] { "", "1A", "has space", "ключ", "sk-live-4f2b9c", new string('A', 129) })
                {
                    Assert.Equal(("", false), ax.Secrets().Get(name));
                }
            });
            h.Test("live: a uid the sidecar does not allow is refused as a uid, not a token", () =>
            {
                string uid = Scratch.Run("id", "-u").Trim();
                using (var s = new Sidecar(new Dictionary<string, object> { { "A", "v" } }))
                {
                    s.Extra.Add("--allow-uid");
                    s.Extra.Add(uid == "4242424" ? "4242425" : "4242424");
                    s.Start();
                    using (var refused = new AxiomContext(s.Socket))
                    {
                        var e = Assert.Throws<SecretsUnavailableException>(() => refused.Secrets().Get("A"));
                        Assert.Equal((ErrorCode?)ErrorCode.Unauthorized, e.Code);
                        Assert.True(e.Message.Contains("uid " + uid), e.Message);
                        Assert.False(e.Message.Contains("token"), e.Message);
                    }
                }
            });
            h.Test("live: a value of one mebibyte", () =>
            {
                // A sidecar of its own: redaction over a 1 MiB value is slow in a debug build.
                using (var big = new Sidecar(new Dictionary<string, object> { { "BIG", Big } }))
                using (var bigAx = new AxiomContext(big.Socket))
                {
                    big.Start();
                    var got = bigAx.Secrets().Get("BIG");
                    Assert.True(got.Found, "found");
                    Assert.True(got.Value == Big, "the 1 MiB value came back exactly (" + got.Value.Length + " chars)");
                    Assert.Equal(("", false), bigAx.Secrets().Get("SMALL"));
                }
            });
            h.Test("live: list gives every name sorted, with metadata and no value", () =>
            {
                IReadOnlyList<SecretInfo> list = ax.Secrets().List();
                var names = new List<string>();
                var byName = new Dictionary<string, SecretInfo>();
                foreach (SecretInfo info in list)
                {
                    names.Add(info.Name);
                    byName[info.Name] = info;
                }
                Assert.Sequence(new[] { "DB_URL", "EMPTY", "ONLY_OVERRIDE", "OPENAI_API_KEY", "SHORT", "UNICODE", "WEBHOOK" }, names);
                Assert.Equal(new SecretInfo("DB_URL", 3, 1795000000), byName["DB_URL"]);
                Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795000000), byName["DB_URL"].UpdatedAt);
                // An override shows its own metadata and nothing that marks it as an override.
                Assert.Equal(new SecretInfo("WEBHOOK", 9, 1796000000), byName["WEBHOOK"]);
            });
            h.Test("live: render resolves references and lists the missing ones", () =>
            {
                Rendered r = ax.Secrets().Render("k={{ secrets.OPENAI_API_KEY }} m={{secrets.M}} {{secrets.M}}");
                Assert.Equal("k=sk-live-4f2b9c m={{secrets.M}} {{secrets.M}}", r.Text);
                Assert.Sequence(new[] { "M" }, r.Missing);
            });
            h.Test("live: redact replaces values and their encodings", () =>
            {
                Redacted r = ax.Secrets().Redact("key=sk-live-4f2b9c b64=c2stbGl2ZS00ZjJiOWM= k9k9 whk_tenant");
                // SHORT ("k9") is under the 4-byte minimum: never masked.
                Assert.Equal("key=*** b64=*** k9k9 whk_tenant", r.Text);
                Assert.Sequence(new[] { "OPENAI_API_KEY" }, r.Found);
            });
            h.Test("live: the mock agrees with the sidecar on render and redact", () =>
            {
                var values = new Dictionary<string, string>();
                foreach (SecretInfo info in ax.Secrets().List())
                {
                    values[info.Name] = ax.Secrets().Get(info.Name).Value;
                }
                ISecrets mock = new MockAxiomContext(values).Secrets();
                foreach (string text in new[]
                {
                    "pässwörd-密码-🔑 p%C3%A4ssw%C3%B6rd only k9 {{secrets.SHORT}} whk_override",
                    "\"p\\u00e4ssw\\u00f6rd-\\u5bc6\\u7801-\\ud83d\\udd11\" cMOkc3N3w7ZyZC3lr4bnoIEt8J-UkQ postgres%3A%2F%2Fu%3Ap%40db%2Fx",
                })
                {
                    Redacted live = ax.Secrets().Redact(text);
                    Redacted mocked = mock.Redact(text);
                    Assert.Equal(live.Text, mocked.Text, "redacted text");
                    Assert.Sequence(live.Found, mocked.Found, "found");
                }
                string template = "{{{secrets.SHORT}}} {{ secrets.X }} {{secrets.UNICODE}} {{secrets.X}} {{secrets.Y}}";
                Assert.Equal(ax.Secrets().Render(template).Text, mock.Render(template).Text, "rendered text");
                Assert.Sequence(ax.Secrets().Render(template).Missing, mock.Render(template).Missing, "missing");
            });
            h.Test("live: a wrong token is a typed error naming the socket", () =>
            {
                using (var wrong = new AxiomContext(shared.Socket, "not-" + shared.Token))
                {
                    var e = Assert.Throws<SecretsUnavailableException>(() => wrong.Secrets().Get("OPENAI_API_KEY"));
                    Assert.Equal("ax-secrets: the sidecar at " + shared.Socket + " refused the client token (missing or wrong)", e.Message);
                    Assert.Equal(shared.Socket, e.SocketPath);
                    Assert.Equal((ErrorCode?)ErrorCode.Unauthorized, e.Code);
                    Assert.False(e.ToString().Contains(shared.Token), "the exception shows the token");
                }
            });
            h.Test("live: a missing token is a typed error", () =>
            {
                ClientTests.WithEnv("AX_SECRETS_TOKEN", null, () =>
                {
                    using (var none = new AxiomContext(shared.Socket))
                    {
                        var e = Assert.Throws<SecretsUnavailableException>(() => none.Secrets().Exists("OPENAI_API_KEY"));
                        Assert.True(e.Message.Contains("refused the client token"), e.Message);
                    }
                });
            });
            h.Test("live: the environment configures the context", () =>
            {
                ClientTests.WithEnv("AX_SECRETS_SOCKET", shared.Socket, () => ClientTests.WithEnv("AX_SECRETS_TOKEN", shared.Token, () =>
                {
                    using (var env = new AxiomContext())
                    {
                        Assert.Equal(("k9", true), env.Secrets().Get("SHORT"));
                    }
                }));
            });
            h.Test("live: no sidecar at the path is a typed error naming the path", () =>
            {
                string path = Path.Combine(Path.GetDirectoryName(shared.Socket), "nobody.sock");
                using (var nobody = new AxiomContext(path))
                {
                    var e = Assert.Throws<SecretsUnavailableException>(() => nobody.Secrets().Get("OPENAI_API_KEY"));
                    Assert.Equal("ax-secrets: the sidecar at " + path + " cannot be reached (no socket file at that path)", e.Message);
                    Assert.Equal(path, e.SocketPath);
                    Assert.Equal(null, e.Code);
                }
            });
            h.Test("live: concurrent threads on one context all get the right value", () =>
            {
                var names = new[] { "OPENAI_API_KEY", "SHORT", "UNICODE", "NOPE" };
                var expected = new Dictionary<string, (string, bool)>();
                foreach (string name in names)
                {
                    expected[name] = ax.Secrets().Get(name);
                }
                int wrong = 0;
                var start = new Barrier(16);
                var threads = new List<Thread>();
                for (int i = 0; i < 16; i++)
                {
                    string name = names[i % names.Length];
                    var t = new Thread(() =>
                    {
                        start.SignalAndWait();
                        for (int k = 0; k < 50; k++)
                        {
                            if (!ax.Secrets().Get(name).Equals(expected[name]))
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
            h.Test("live: a restarted sidecar is reconnected to", () =>
            {
                Assert.Equal(("sk-live-4f2b9c", true), ax.Secrets().Get("OPENAI_API_KEY"));
                shared.Restart();
                Assert.Equal(("k9", true), ax.Secrets().Get("SHORT"));
                Assert.Equal(("sk-live-4f2b9c", true), ax.Secrets().Get("OPENAI_API_KEY"));
            });
            h.Test("live: no value or token in errors or ToString", () =>
            {
                Assert.Equal("sk-live-4f2b9c", ax.Secrets().Get("OPENAI_API_KEY").Value);
                string shown = ax.ToString() + ax.Secrets().ToString() + ax.Secrets().Render("{{secrets.OPENAI_API_KEY}}");
                Assert.True(shown.Contains(shared.Socket), shown);
                Assert.False(shown.Contains("sk-live") || shown.Contains(shared.Token), shown);
                Assert.Equal(0, shared.Stop());
                var e = Assert.Throws<SecretsUnavailableException>(() => ax.Secrets().Render("secret sk-live-4f2b9c {{secrets.OPENAI_API_KEY}}"));
                Assert.False(e.ToString().Contains("sk-live"), e.ToString());
                shared.Start();
            });
            h.Test("live: a stopped sidecar is a typed error naming the socket", () =>
            {
                Assert.True(ax.Secrets().Exists("SHORT"), "exists before the stop");
                Assert.Equal(0, shared.Stop(), "exit code");
                var e = Assert.Throws<SecretsUnavailableException>(() => ax.Secrets().Get("SHORT"));
                Assert.True(e.Message.Contains(shared.Socket), e.Message);
            });
        }

        internal static void Cleanup()
        {
            for (int i = Started.Count - 1; i >= 0; i--)
            {
                try
                {
                    Started[i].Dispose();
                }
                catch (Exception e)
                {
                    Console.Error.WriteLine("cleanup: " + e.Message);
                }
            }
        }

        private static T Track<T>(T item) where T : IDisposable
        {
            Started.Add(item);
            return item;
        }

        private static string Repeat(string part, int times)
        {
            var s = new System.Text.StringBuilder(part.Length * times);
            for (int i = 0; i < times; i++)
            {
                s.Append(part);
            }
            return s.ToString();
        }
    }
}
