using System;
using System.Collections.Generic;
using System.Threading;

namespace Ax.Secrets.Testing
{
    /// <summary>The client's protocol rules (PROTOCOL.md §7), against a scripted fake sidecar.</summary>
    internal static class ClientTests
    {
        private static SecretsUnavailableException Unavailable(Action call)
        {
            return Assert.Throws<SecretsUnavailableException>(call);
        }

        private static void Contains(string text, string part)
        {
            Assert.True(text.Contains(part), "'" + text + "' does not contain '" + part + "'");
        }

        internal static void Register(Harness h)
        {
            h.Test("client: connects lazily, handshakes once and reuses the connection", () =>
            {
                using (var fake = new FakeSidecar(p => { p.Handshake(); p.ServeForever(); }))
                {
                    using (var ax = new AxiomContext(fake.Socket, "tok-1"))
                    {
                        Assert.Equal(0, fake.Connections, "connections before the first call");
                        for (int i = 0; i < 5; i++)
                        {
                            Assert.Equal(("eman", true), ax.Secrets().Get("NAME"));
                        }
                    }
                    Assert.Equal(1, fake.Connections, "connections");
                    Assert.Equal(1, fake.Count<HelloRequest>(), "hellos");
                    var hello = (HelloRequest)fake.Received[0];
                    Assert.Equal(2, (int)hello.Version, "version");
                    Assert.Equal("csharp/0.1.0", hello.Client, "client");
                    Assert.Equal(1u, fake.HelloIds[0], "the Hello's id, never 0");
                    Assert.Equal("tok-1", hello.Token, "token");
                }
            });
            h.Test("client: the token comes from AX_SECRETS_TOKEN unless given; empty sends none", () =>
            {
                using (var fake = new FakeSidecar(p => { p.Handshake(); p.ServeForever(); }))
                {
                    WithEnv("AX_SECRETS_TOKEN", "from-env", () =>
                    {
                        using (var ax = new AxiomContext(fake.Socket))
                        {
                            ax.Secrets().Exists("A");
                        }
                        using (var ax = new AxiomContext(fake.Socket, ""))
                        {
                            ax.Secrets().Exists("A");
                        }
                    });
                    var hellos = new List<string>();
                    foreach (RequestBody body in fake.Received)
                    {
                        var hello = body as HelloRequest;
                        if (hello != null)
                        {
                            hellos.Add(hello.Token ?? "(none)");
                        }
                    }
                    Assert.Sequence(new[] { "from-env", "(none)" }, hellos, "tokens");
                }
            });
            h.Test("client: the socket comes from AX_SECRETS_SOCKET, read at the first call", () =>
            {
                using (var fake = new FakeSidecar(p => { p.Handshake(); p.ServeForever(); }))
                {
                    var ax = new AxiomContext();
                    WithEnv("AX_SECRETS_SOCKET", fake.Socket, () => Assert.Equal(("a", true), ax.Secrets().Get("A")));
                    Contains(ax.ToString(), fake.Socket);
                    ax.Dispose();
                }
            });
            h.Test("client: no AX_SECRETS_SOCKET is a typed error naming the variable", () =>
            {
                WithEnv("AX_SECRETS_SOCKET", null, () =>
                {
                    var e = Unavailable(() => new AxiomContext().Secrets().Get("A"));
                    Contains(e.Message, "AX_SECRETS_SOCKET is not set");
                    Assert.Equal(null, e.SocketPath);
                });
            });
            h.Test("client: invalid names are not found and never sent", () =>
            {
                using (var fake = new FakeSidecar(p => { p.Handshake(); p.ServeForever(); }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        foreach (string name in new[] { "", "1BAD", "sk-live-123", "NAMÉ", new string('A', 129) })
                        {
                            Assert.Equal(("", false), ax.Secrets().Get(name));
                        }
                        Assert.Throws<ArgumentNullException>(() => ax.Secrets().Get(null));
                    }
                    Assert.Equal(0, fake.Connections, "connections");
                }
            });
            h.Test("client: a request over 1 MiB is refused before anything is sent", () =>
            {
                using (var fake = new FakeSidecar(p => { p.Handshake(); p.ServeForever(); }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        var e = Assert.Throws<RequestTooLargeException>(() => ax.Secrets().Redact(new string('x', Limits.MaxRequestBody)));
                        Contains(e.Message, "nothing was sent");
                        Assert.Throws<RequestTooLargeException>(() => ax.Secrets().Render(new string('x', Limits.MaxRequestBody - 3)));
                        var bad = Assert.Throws<ArgumentException>(() => ax.Secrets().Render("sk-123 \ud800"));
                        Assert.False(bad.Message.Contains("sk-123"), bad.Message);
                    }
                    Assert.Equal(0, fake.Connections, "connections");
                }
            });
            h.Test("client: a mismatched response id drops the connection; the next call reconnects", () =>
            {
                using (var fake = new FakeSidecar(
                    p => { p.Handshake(); uint id; p.Read(out id); p.Reply(id + 1, new SecretResponse("v")); p.Read(out id); },
                    p => { p.Handshake(); p.ServeForever(); }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        var e = Unavailable(() => ax.Secrets().Get("A"));
                        Contains(e.Message, "answered request");
                        Contains(e.Message, fake.Socket);
                        Assert.Equal(("b", true), ax.Secrets().Get("B"));
                    }
                    Assert.Equal(2, fake.Connections, "connections");
                }
            });
            h.Test("client: Internal keeps the connection open; the error carries its code", () =>
            {
                using (var fake = new FakeSidecar(p =>
                {
                    p.Handshake();
                    uint id;
                    p.Read(out id);
                    p.Reply(id, new ErrorResponse(ErrorCode.Internal, "oops"));
                    p.ServeForever();
                }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        var e = Unavailable(() => ax.Secrets().Get("A"));
                        Assert.Equal((ErrorCode?)ErrorCode.Internal, e.Code);
                        Contains(e.Message, "refused Get with error Internal");
                        Assert.Equal(("b", true), ax.Secrets().Get("B"));
                    }
                    Assert.Equal(1, fake.Connections, "connections");
                }
            });
            h.Test("client: a fresh connection closed after the request was written is an error, never a resend", () =>
            {
                using (var fake = new FakeSidecar(
                    p => { p.Handshake(); uint id; p.Read(out id); },
                    p => { p.Handshake(); p.ServeForever(); }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        var e = Unavailable(() => ax.Secrets().Get("A"));
                        Contains(e.Message, "closed the connection before answering Get");
                        Assert.Equal(1, fake.Count<GetRequest>(), "gets after the failure");
                        Assert.Equal(("b", true), ax.Secrets().Get("B"));
                    }
                    Assert.Equal(2, fake.Connections, "connections");
                }
            });
            h.Test("client: a connection closed while idle is replaced before the next request", () =>
            {
                var closed = new ManualResetEventSlim();
                using (var fake = new FakeSidecar(
                    p => { p.Handshake(); uint id; p.Read(out id); p.Reply(id, new SecretResponse("v")); p.Close(); closed.Set(); },
                    p => { p.Handshake(); p.ServeForever(); }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        Assert.Equal(("v", true), ax.Secrets().Get("A"));
                        Assert.True(closed.Wait(TimeSpan.FromSeconds(30)), "the fake closed");
                        Assert.Equal(("b", true), ax.Secrets().Get("B"));
                    }
                    Assert.Equal(2, fake.Connections, "connections");
                }
            });
            h.Test("client: malformed, oversized and unexpected answers drop the connection", () =>
            {
                // The first Get has id 1: Secret(Some("")) with a byte too many in its body.
                byte[] trailing = Hex.Bytes("00000005" + "01" + "01" + "0100" + "ff");
                byte[] oversized = Hex.Bytes("01000001");
                using (var fake = new FakeSidecar(
                    p => { p.Handshake(); uint id; p.Read(out id); p.SendRaw(trailing); p.Read(out id); },
                    p => { p.Handshake(); uint id; p.Read(out id); p.SendRaw(oversized); p.Read(out id); },
                    p => { p.Handshake(); uint id; p.Read(out id); p.Reply(id, PongResponse.Instance); p.Read(out id); },
                    p => { p.Handshake(); p.ServeForever(); }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        Contains(Unavailable(() => ax.Secrets().Get("A")).Message, "malformed response (TrailingBytes)");
                        Contains(Unavailable(() => ax.Secrets().Get("A")).Message, "malformed response (FrameTooLarge)");
                        Contains(Unavailable(() => ax.Secrets().Get("A")).Message, "answered Get with Pong");
                        Assert.Equal(("d", true), ax.Secrets().Get("D"));
                    }
                    Assert.Equal(4, fake.Connections, "connections");
                }
            });
            h.Test("client: a refused token is a typed error naming the socket", () =>
            {
                using (var fake = new FakeSidecar(p => { uint id; p.Read(out id); p.Reply(id, new ErrorResponse(ErrorCode.Unauthorized, "no")); }))
                {
                    using (var ax = new AxiomContext(fake.Socket, "wrong"))
                    {
                        var e = Unavailable(() => ax.Secrets().List());
                        Assert.Equal("ax-secrets: the sidecar at " + fake.Socket + " refused the client token (missing or wrong)", e.Message);
                        Assert.Equal((ErrorCode?)ErrorCode.Unauthorized, e.Code);
                        Assert.Equal(fake.Socket, e.SocketPath);
                    }
                }
            });
            h.Test("client: a sidecar speaking another version is refused", () =>
            {
                using (var fake = new FakeSidecar(p => { uint id; p.Read(out id); p.Reply(id, new HelloResponse(3, "future", "x")); p.Read(out id); }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        Contains(Unavailable(() => ax.Secrets().Get("A")).Message, "speaks protocol version 3, not 2");
                    }
                }
            });
            h.Test("client: a sidecar that does not answer within the timeout is an error", () =>
            {
                var release = new ManualResetEventSlim();
                using (var fake = new FakeSidecar(p => { p.Handshake(); uint id; p.Read(out id); release.Wait(TimeSpan.FromSeconds(30)); }))
                {
                    using (var ax = new AxiomContext(fake.Socket, null, TimeSpan.FromMilliseconds(300)))
                    {
                        Contains(Unavailable(() => ax.Secrets().Get("A")).Message, "did not answer Get within 0.3 s");
                    }
                    release.Set();
                }
            });
            h.Test("client: a call after Dispose is an ObjectDisposedException", () =>
            {
                var ax = new AxiomContext("/nonexistent/ax.sock");
                ax.Dispose();
                Assert.Throws<ObjectDisposedException>(() => ax.Secrets().Get("A"));
            });
            h.Test("client: ToString shows the socket, never the token", () =>
            {
                var ax = new AxiomContext("/run/ax/x.sock", "tok-very-secret");
                string shown = ax.ToString() + ax.Secrets().ToString();
                Contains(shown, "/run/ax/x.sock");
                Assert.False(shown.Contains("tok-very-secret"), shown);
            });
            h.Test("client: concurrent callers on one context each get their own answer", () =>
            {
                using (var fake = new FakeSidecar(p => { p.Handshake(); p.ServeForever(); }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        int wrong = 0;
                        var threads = new List<Thread>();
                        for (int i = 0; i < 8; i++)
                        {
                            string name = "NAME_" + i;
                            var t = new Thread(() =>
                            {
                                for (int k = 0; k < 100; k++)
                                {
                                    if (!ax.Secrets().Get(name).Equals((FakePeer.Value(name), true)))
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
                    }
                    Assert.Equal(1, fake.Connections, "connections");
                }
            });
        }

        internal static void WithEnv(string name, string value, Action body)
        {
            string before = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, value);
            try
            {
                body();
            }
            finally
            {
                Environment.SetEnvironmentVariable(name, before);
            }
        }
    }
}
