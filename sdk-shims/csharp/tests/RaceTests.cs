using System;
using System.Net.Sockets;
using System.Threading;

namespace Ax.Secrets.Testing
{
    /// <summary>
    /// The races of PROTOCOL.md §7.3 and §7.4 against a scripted fake sidecar that counts how
    /// often a request arrived: an id-0 error read after a failed write, resend once on a reused
    /// connection only, a refused uid told from a refused token (§7.1), an over-long socket path.
    /// </summary>
    internal static class RaceTests
    {
        private static SecretsUnavailableException Unavailable(Action call)
        {
            return Assert.Throws<SecretsUnavailableException>(call);
        }

        private static void Contains(string text, string part)
        {
            Assert.True(text.Contains(part), "'" + text + "' does not contain '" + part + "'");
        }

        /// <summary>
        /// A first connection that answers its first Get with "first" and does
        /// <paramref name="then"/> to the second (given its id); later connections serve
        /// normally (a Get of B answers "b").
        /// </summary>
        private static FakeSidecar ReusedThen(Action<FakePeer, uint> then)
        {
            return new FakeSidecar(
                p =>
                {
                    p.Handshake();
                    uint id;
                    p.Read(out id);
                    p.Reply(id, new SecretResponse("first"));
                    p.Read(out id);
                    then(p, id);
                },
                p => { p.Handshake(); p.ServeForever(); });
        }

        /// <summary>Opens a connection to <paramref name="fake"/> and waits until its script has closed it.</summary>
        private static Connection OpenAndWaitForClose(FakeSidecar fake, ManualResetEventSlim closed)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(fake.Socket));
            Assert.True(closed.Wait(TimeSpan.FromSeconds(30)), "the fake closed the connection");
            return new Connection(socket);
        }

        internal static void Register(Harness h)
        {
            h.Test("races: a request on a reused connection closed before answering is resent once", () =>
            {
                using (var fake = ReusedThen((p, id) => { }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        Assert.Equal(("first", true), ax.Secrets().Get("A"));
                        Assert.Equal(("b", true), ax.Secrets().Get("B"));
                    }
                    Assert.Equal(2, fake.GetsOf("B"), "gets of B");
                    Assert.Equal(2, fake.Connections, "connections");
                }
            });
            h.Test("races: an id-0 ShuttingDown on a reused connection is resent once", () =>
            {
                using (var fake = ReusedThen((p, id) => p.Reply(0, new ErrorResponse(ErrorCode.ShuttingDown, "stopping"))))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        Assert.Equal(("first", true), ax.Secrets().Get("A"));
                        Assert.Equal(("b", true), ax.Secrets().Get("B"));
                    }
                    Assert.Equal(2, fake.GetsOf("B"), "gets of B");
                }
            });
            h.Test("races: a resent request is not resent a second time", () =>
            {
                using (var fake = new FakeSidecar(
                    p => { p.Handshake(); uint id; p.Read(out id); p.Reply(id, new SecretResponse("first")); p.Read(out id); },
                    p => { p.Handshake(); uint id; p.Read(out id); }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        Assert.Equal(("first", true), ax.Secrets().Get("A"));
                        var e = Unavailable(() => ax.Secrets().Get("B"));
                        Assert.Equal((ErrorCode?)null, e.Code);
                        Contains(e.Message, "closed the connection before answering Get");
                    }
                    Assert.Equal(2, fake.GetsOf("B"), "gets of B");
                    Assert.Equal(2, fake.Connections, "connections");
                }
            });
            h.Test("races: an answer cut after its first byte is not resent", () =>
            {
                using (var fake = ReusedThen((p, id) =>
                {
                    var w = new WireWriter(64);
                    Codec.EncodeResponse(w, id, new SecretResponse("never whole"));
                    p.SendRaw(new[] { w.Buffer[0] });
                }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        Assert.Equal(("first", true), ax.Secrets().Get("A"));
                        var e = Unavailable(() => ax.Secrets().Get("B"));
                        Assert.Equal((ErrorCode?)null, e.Code);
                        Contains(e.Message, fake.Socket);
                    }
                    Assert.Equal(1, fake.GetsOf("B"), "gets of B");
                    Assert.Equal(1, fake.Connections, "connections");
                }
            });
            h.Test("races: a request on a fresh connection closed before answering is not resent", () =>
            {
                using (var fake = new FakeSidecar(p => { p.Handshake(); uint id; p.Read(out id); }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        var e = Unavailable(() => ax.Secrets().Get("A"));
                        Assert.Equal((ErrorCode?)null, e.Code);
                    }
                    Assert.Equal(1, fake.GetsOf("A"), "gets of A");
                    Assert.Equal(1, fake.Connections, "connections");
                }
            });
            h.Test("races: an id-0 ShuttingDown on a fresh connection is not resent", () =>
            {
                using (var fake = new FakeSidecar(p =>
                {
                    p.Handshake();
                    uint id;
                    p.Read(out id);
                    p.Reply(0, new ErrorResponse(ErrorCode.ShuttingDown, "stopping"));
                }))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        Assert.Equal((ErrorCode?)ErrorCode.ShuttingDown, Unavailable(() => ax.Secrets().Get("A")).Code);
                    }
                    Assert.Equal(1, fake.GetsOf("A"), "gets of A");
                    Assert.Equal(1, fake.Connections, "connections");
                }
            });
            h.Test("races: ShuttingDown under the request's id is reported and not resent", () =>
            {
                using (var fake = ReusedThen((p, id) => p.Reply(id, new ErrorResponse(ErrorCode.ShuttingDown, "stopping"))))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        Assert.Equal(("first", true), ax.Secrets().Get("A"));
                        var e = Unavailable(() => ax.Secrets().Get("B"));
                        Assert.Equal((ErrorCode?)ErrorCode.ShuttingDown, e.Code);
                        Contains(e.Message, "did not serve Get (error ShuttingDown)");
                    }
                    Assert.Equal(1, fake.GetsOf("B"), "gets of B");
                }
            });
            h.Test("races: Busy at connect is reported as Busy and not retried", () =>
            {
                using (var fake = new FakeSidecar(p => p.Reply(0, new ErrorResponse(ErrorCode.Busy, "full"))))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        var e = Unavailable(() => ax.Secrets().Get("A"));
                        Assert.Equal((ErrorCode?)ErrorCode.Busy, e.Code);
                        Contains(e.Message, fake.Socket);
                    }
                    Assert.Equal(1, fake.Connections, "connections");
                }
            });
            h.Test("races: Busy on a reused connection is not resent", () =>
            {
                using (var fake = ReusedThen((p, id) => p.Reply(0, new ErrorResponse(ErrorCode.Busy, "full"))))
                {
                    using (var ax = new AxiomContext(fake.Socket))
                    {
                        Assert.Equal(("first", true), ax.Secrets().Get("A"));
                        Assert.Equal((ErrorCode?)ErrorCode.Busy, Unavailable(() => ax.Secrets().Get("B")).Code);
                    }
                    Assert.Equal(1, fake.GetsOf("B"), "gets of B");
                    Assert.Equal(1, fake.Connections, "connections");
                }
            });
            // The test connects itself and waits for the fake to write Busy and close before the
            // client's handshake writes, so the Hello write fails for certain: a fake behind a
            // listener cannot force that order otherwise (connecting returns before it accepts).
            h.Test("races: Busy written and the socket closed before the Hello write is reported as Busy", () =>
            {
                var closed = new ManualResetEventSlim();
                using (var fake = new FakeSidecar(p =>
                {
                    p.Reply(0, new ErrorResponse(ErrorCode.Busy, "full"));
                    p.Close();
                    closed.Set();
                }))
                {
                    Connection c = OpenAndWaitForClose(fake, closed);
                    using (var client = new SidecarClient(fake.Socket, "", null))
                    {
                        var e = Unavailable(() => client.Handshake(c));
                        Assert.Equal((ErrorCode?)ErrorCode.Busy, e.Code);
                        Contains(e.Message, "did not serve Hello (error Busy)");
                    }
                }
            });
            h.Test("races: a Hello write that fails with nothing to read is a transport error", () =>
            {
                var closed = new ManualResetEventSlim();
                using (var fake = new FakeSidecar(p => { p.Close(); closed.Set(); }))
                {
                    Connection c = OpenAndWaitForClose(fake, closed);
                    using (var client = new SidecarClient(fake.Socket, "", null))
                    {
                        var e = Unavailable(() => client.Handshake(c));
                        Assert.Equal((ErrorCode?)null, e.Code);
                        Contains(e.Message, "before answering Hello");
                    }
                }
            });
            h.Test("races: an Unauthorized with id 0 is a refused uid, never the token", () =>
            {
                using (var fake = new FakeSidecar(p => p.Reply(0, new ErrorResponse(ErrorCode.Unauthorized, "uid"))))
                {
                    string uid = Scratch.Run("id", "-u").Trim();
                    using (var ax = new AxiomContext(fake.Socket, "tok-1"))
                    {
                        var e = Unavailable(() => ax.Secrets().Get("A"));
                        Assert.Equal((ErrorCode?)ErrorCode.Unauthorized, e.Code);
                        Assert.Equal("ax-secrets: the sidecar at " + fake.Socket + " refused this process's uid " + uid
                            + " (not allowed to connect)", e.Message);
                        Assert.False(e.Message.Contains("token"), e.Message);
                    }
                    Assert.Equal(1, fake.Connections, "connections");
                }
            });
            h.Test("races: an Unauthorized under the Hello's id is a refused token, never the uid", () =>
            {
                using (var fake = new FakeSidecar(p => { uint id; p.Read(out id); p.Reply(id, new ErrorResponse(ErrorCode.Unauthorized, "token")); }))
                {
                    using (var ax = new AxiomContext(fake.Socket, "tok-1"))
                    {
                        var e = Unavailable(() => ax.Secrets().Get("A"));
                        Assert.Equal((ErrorCode?)ErrorCode.Unauthorized, e.Code);
                        Contains(e.Message, "token");
                        Assert.False(e.Message.Contains("uid"), e.Message);
                    }
                }
            });
            h.Test("races: an over-long socket path is a typed error, not ArgumentOutOfRangeException", () =>
            {
                string path = "/tmp/" + new string('x', 126) + ".sock";
                Assert.Equal(136, path.Length, "length");
                using (var ax = new AxiomContext(path))
                {
                    var e = Unavailable(() => ax.Secrets().Get("A"));
                    Assert.Equal("ax-secrets: socket path " + path + " is 136 bytes; a Unix socket path holds at most 107", e.Message);
                    Assert.Equal((ErrorCode?)null, e.Code);
                    Assert.Equal(path, e.SocketPath);
                }
            });
            h.Test("races: a socket path is measured in bytes of its UTF-8", () =>
            {
                string path = "/tmp/" + new string('\u00e9', 51) + ".sock"; // 61 chars, 112 bytes
                using (var ax = new AxiomContext(path))
                {
                    Contains(Unavailable(() => ax.Secrets().Get("A")).Message, "is 112 bytes");
                }
            });
            h.Test("races: a path of exactly 107 bytes is tried, and missing is an ordinary error", () =>
            {
                string path = "/tmp/" + new string('y', 97) + ".sock";
                Assert.Equal(107, path.Length, "length");
                using (var ax = new AxiomContext(path))
                {
                    Contains(Unavailable(() => ax.Secrets().Get("A")).Message, "cannot be reached");
                }
            });
        }
    }
}
