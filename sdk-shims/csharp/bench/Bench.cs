using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net.Sockets;

namespace Ax.Secrets.Bench
{
    /// <summary>
    /// What one <c>Get</c> costs through the shim, next to a raw round trip of the same bytes.
    /// </summary>
    /// <remarks>
    /// Usage: <c>mono build/Bench.exe ECHO_SOCKET NAME CALLS</c> with <c>AX_SECRETS_SOCKET</c>
    /// (and <c>AX_SECRETS_TOKEN</c>) set for a real sidecar. ECHO_SOCKET answers a Hello frame
    /// with a Hello response and any other frame with the sidecar's response bytes for
    /// Get(NAME). After 1000 warm-up calls of each, blocks of 1000 raw and 1000 shim calls
    /// alternate until CALLS of each; every call is timed with <see cref="Stopwatch"/> (on Mono
    /// its resolution is 100 ns). Prints one JSON line.
    /// </remarks>
    internal static class Program
    {
        private const int Block = 1000;
        private const int WarmUp = 1000;

        private static int Main(string[] args)
        {
            int calls;
            if (args.Length != 3 || !int.TryParse(args[2], out calls) || calls <= 0)
            {
                Console.Error.WriteLine("usage: Bench.exe ECHO_SOCKET NAME CALLS");
                return 64;
            }
            string name = args[1];
            var raw = new RawClient(args[0], name);
            using (var ax = new AxiomContext())
            {
                ISecrets secrets = ax.Secrets();
                if (!secrets.Get(name).Found)
                {
                    Console.Error.WriteLine("the sidecar has no secret named " + name);
                    return 1;
                }
                Action rawCall = raw.RoundTrip;
                Action shimCall = () => secrets.Get(name);
                Timed(rawCall, WarmUp, null);
                Timed(shimCall, WarmUp, null);
                var rawNs = new List<long>(calls);
                var shimNs = new List<long>(calls);
                while (rawNs.Count < calls)
                {
                    int block = Math.Min(Block, calls - rawNs.Count);
                    Timed(rawCall, block, rawNs);
                    Timed(shimCall, block, shimNs);
                }
                raw.Close();
                Console.WriteLine("{\"lang\": \"csharp\", \"calls\": " + calls
                    + ", \"raw_p50_ns\": " + Percentile(rawNs, 0.50)
                    + ", \"raw_p99_ns\": " + Percentile(rawNs, 0.99)
                    + ", \"shim_p50_ns\": " + Percentile(shimNs, 0.50)
                    + ", \"shim_p99_ns\": " + Percentile(shimNs, 0.99) + "}");
            }
            return 0;
        }

        private static void Timed(Action call, int count, List<long> into)
        {
            double nsPerTick = 1e9 / Stopwatch.Frequency;
            for (int i = 0; i < count; i++)
            {
                long start = Stopwatch.GetTimestamp();
                call();
                long took = Stopwatch.GetTimestamp() - start;
                if (into != null)
                {
                    into.Add((long)(took * nsPerTick));
                }
            }
        }

        private static long Percentile(List<long> samples, double fraction)
        {
            var ordered = new List<long>(samples);
            ordered.Sort();
            return ordered[Math.Min(ordered.Count - 1, (int)(fraction * ordered.Count))];
        }

        /// <summary>The least a C# program does for the round trip: one write, blocking reads into one buffer.</summary>
        private sealed class RawClient
        {
            private readonly Socket socket;
            private readonly byte[] request;
            private readonly byte[] buffer = new byte[64 * 1024];

            internal RawClient(string path, string name)
            {
                socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                socket.Connect(new UnixDomainSocketEndPoint(path));
                string token = Environment.GetEnvironmentVariable("AX_SECRETS_TOKEN");
                var w = new WireWriter(64);
                Codec.EncodeRequest(w, 0, new HelloRequest(Limits.ProtocolVersion, Limits.ClientName, string.IsNullOrEmpty(token) ? null : token));
                socket.Send(w.Buffer, 0, w.Length, SocketFlags.None);
                ReadFrame();
                Codec.EncodeRequest(w, 1, new GetRequest(name));
                request = new byte[w.Length];
                Buffer.BlockCopy(w.Buffer, 0, request, 0, w.Length);
            }

            internal void RoundTrip()
            {
                socket.Send(request, 0, request.Length, SocketFlags.None);
                ReadFrame();
            }

            internal void Close()
            {
                socket.Dispose();
            }

            private void ReadFrame()
            {
                ReadExactly(4);
                int length = buffer[0] << 24 | buffer[1] << 16 | buffer[2] << 8 | buffer[3];
                ReadExactly(length);
            }

            private void ReadExactly(int count)
            {
                int have = 0;
                while (have < count)
                {
                    int n = socket.Receive(buffer, have, count - have, SocketFlags.None);
                    if (n == 0)
                    {
                        throw new InvalidOperationException("the echo server closed the connection");
                    }
                    have += n;
                }
            }
        }
    }
}
