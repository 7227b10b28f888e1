using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net.Sockets;
using System.Threading;

namespace Ax.Secrets.Testing
{
    /// <summary>One accepted connection of a <see cref="FakeSidecar"/>, driven by a test's script.</summary>
    internal sealed class FakePeer
    {
        private sealed class PeerSource : ByteSource
        {
            private readonly Socket socket;
            internal PeerSource(Socket socket) { this.socket = socket; }
            internal override int Read(byte[] buffer, int offset, int count)
            {
                try
                {
                    return socket.Receive(buffer, offset, count, SocketFlags.None);
                }
                catch (SocketException)
                {
                    return 0;
                }
            }
        }

        private readonly Socket socket;
        private readonly FrameReader reader;
        private readonly FakeSidecar owner;

        internal FakePeer(Socket socket, FakeSidecar owner)
        {
            this.socket = socket;
            this.owner = owner;
            reader = new FrameReader(new PeerSource(socket), Limits.MaxRequestBody, 4096);
        }

        /// <summary>The next request, or null at end of stream.</summary>
        internal RequestBody Read(out uint id)
        {
            id = 0;
            try
            {
                ArraySegment<byte> frame = reader.Next();
                RequestBody body = Codec.DecodeRequest(frame.Array, frame.Offset, frame.Count, out id);
                owner.Record(body, id);
                return body;
            }
            catch (BrokenException)
            {
                return null;
            }
        }

        internal void Reply(uint id, ResponseBody body)
        {
            var w = new WireWriter(64);
            Codec.EncodeResponse(w, id, body);
            socket.Send(w.Buffer, 0, w.Length, SocketFlags.None);
        }

        internal void SendRaw(byte[] bytes)
        {
            socket.Send(bytes, 0, bytes.Length, SocketFlags.None);
        }

        /// <summary>Reads the Hello and accepts it.</summary>
        internal void Handshake()
        {
            uint id;
            RequestBody hello = Read(out id);
            if (!(hello is HelloRequest))
            {
                throw new InvalidOperationException("expected Hello, got " + (hello == null ? "end of stream" : hello.Kind));
            }
            Reply(id, new HelloResponse(Limits.ProtocolVersion, "fake/0.0.0", "exec-fake"));
        }

        /// <summary>Answers every Get with its name reversed and lower-cased, until end of stream.</summary>
        internal void ServeForever()
        {
            uint id;
            RequestBody body;
            while ((body = Read(out id)) != null)
            {
                var get = body as GetRequest;
                Reply(id, get != null ? (ResponseBody)new SecretResponse(Value(get.Name)) : PongResponse.Instance);
            }
        }

        internal static string Value(string name)
        {
            char[] chars = name.ToLowerInvariant().ToCharArray();
            Array.Reverse(chars);
            return new string(chars);
        }

        internal void Close()
        {
            socket.Dispose();
        }
    }

    /// <summary>
    /// A scripted sidecar on a Unix socket, for the client's protocol rules: connection
    /// <c>i</c> runs <c>scripts[min(i, last)]</c> on its own thread.
    /// </summary>
    internal sealed class FakeSidecar : IDisposable
    {
        private readonly string dir;
        private readonly Socket listener;
        private readonly Thread acceptor;
        private readonly Action<FakePeer>[] scripts;
        private readonly List<Thread> handlers = new List<Thread>();
        private readonly List<RequestBody> received = new List<RequestBody>();
        private readonly List<uint> helloIds = new List<uint>();
        private readonly List<Exception> failures = new List<Exception>();
        private volatile bool stopping;
        private int connections;

        internal FakeSidecar(params Action<FakePeer>[] scripts)
        {
            this.scripts = scripts;
            dir = Scratch.NewDirectory("fake");
            Socket = Path.Combine(dir, "fake.sock");
            listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(Socket));
            listener.Listen(16);
            acceptor = new Thread(Accept) { IsBackground = true };
            acceptor.Start();
        }

        internal string Socket { get; }

        internal int Connections { get { return Volatile.Read(ref connections); } }

        /// <summary>The requests received so far, Hellos included, in order.</summary>
        internal List<RequestBody> Received
        {
            get { lock (received) { return new List<RequestBody>(received); } }
        }

        internal int Count<T>()
        {
            int n = 0;
            foreach (RequestBody body in Received)
            {
                if (body is T)
                {
                    n++;
                }
            }
            return n;
        }

        /// <summary>The ids the Hellos came with, in order.</summary>
        internal List<uint> HelloIds
        {
            get { lock (received) { return new List<uint>(helloIds); } }
        }

        /// <summary>How many times a <c>Get</c> of <paramref name="name"/> arrived, on any connection.</summary>
        internal int GetsOf(string name)
        {
            int n = 0;
            foreach (RequestBody body in Received)
            {
                var get = body as GetRequest;
                if (get != null && get.Name == name)
                {
                    n++;
                }
            }
            return n;
        }

        internal void Record(RequestBody body, uint id)
        {
            lock (received)
            {
                received.Add(body);
                if (body is HelloRequest)
                {
                    helloIds.Add(id);
                }
            }
        }

        public void Dispose()
        {
            stopping = true;
            try
            {
                // Wakes the blocked Accept, on runtimes where closing the listener does not.
                using (var poke = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
                {
                    poke.Connect(new UnixDomainSocketEndPoint(Socket));
                }
            }
            catch (SocketException)
            {
            }
            acceptor.Join();
            listener.Dispose();
            foreach (Thread t in handlers)
            {
                t.Join();
            }
            Scratch.Remove(dir);
            lock (failures)
            {
                if (failures.Count > 0)
                {
                    throw new AssertionException("the fake sidecar's script failed: " + failures[0].Message);
                }
            }
        }

        private void Accept()
        {
            while (true)
            {
                Socket s;
                try
                {
                    s = listener.Accept();
                }
                catch (SocketException)
                {
                    return;
                }
                if (stopping)
                {
                    s.Dispose();
                    return;
                }
                int index = Interlocked.Increment(ref connections) - 1;
                Action<FakePeer> script = scripts[Math.Min(index, scripts.Length - 1)];
                var peer = new FakePeer(s, this);
                var t = new Thread(() =>
                {
                    try
                    {
                        script(peer);
                    }
                    catch (Exception e)
                    {
                        lock (failures)
                        {
                            failures.Add(e);
                        }
                    }
                    finally
                    {
                        peer.Close();
                    }
                }) { IsBackground = true };
                lock (handlers)
                {
                    handlers.Add(t);
                }
                t.Start();
            }
        }
    }

    /// <summary>Private scratch directories (made with mktemp -d, so mode 0700) for the tests.</summary>
    internal static class Scratch
    {
        internal static string NewDirectory(string what)
        {
            string path = Run("mktemp", "-d -t ax-csharp-" + what + "-XXXXXX").Trim();
            if (!Directory.Exists(path))
            {
                throw new InvalidOperationException("mktemp gave " + path);
            }
            return path;
        }

        internal static void Remove(string dir)
        {
            try
            {
                Directory.Delete(dir, true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        /// <summary>Runs a program to its end and returns its standard output; throws on a non-zero exit.</summary>
        internal static string Run(string program, string arguments)
        {
            var info = new ProcessStartInfo(program, arguments)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using (Process p = Process.Start(info))
            {
                var stderr = p.StandardError.ReadToEndAsync();
                string stdout = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0)
                {
                    throw new InvalidOperationException(program + " " + arguments + " exited " + p.ExitCode + ": " + stderr.Result);
                }
                return stdout;
            }
        }
    }
}
