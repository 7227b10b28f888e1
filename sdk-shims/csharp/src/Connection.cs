using System;
using System.Net.Sockets;

namespace Ax.Secrets
{
    /// <summary>
    /// Writing failed because the peer had closed the connection (EPIPE, ECONNRESET): what it
    /// wrote before closing, such as an id-0 <c>Busy</c>, may still be waiting to be read.
    /// </summary>
    internal sealed class WriteFailedException : Exception
    {
        internal WriteFailedException(string reason) : base(reason) { }
    }

    /// <summary>The connection broke or timed out while a request was written or answered.</summary>
    internal sealed class BrokenException : Exception
    {
        internal BrokenException(string reason, bool timedOut) : base(reason) { TimedOut = timedOut; }
        internal bool TimedOut { get; }
    }

    /// <summary>Where a <see cref="FrameReader"/> gets its bytes: a socket, or a test's script.</summary>
    internal abstract class ByteSource
    {
        /// <summary>Reads up to <paramref name="count"/> bytes; 0 means end of stream.</summary>
        /// <exception cref="BrokenException">The read failed or timed out.</exception>
        internal abstract int Read(byte[] buffer, int offset, int count);
    }

    /// <summary>
    /// Reads frames from a byte source through one buffer, so a small response usually comes
    /// with its length prefix in one read, and a large one is read straight into a body buffer
    /// of the announced size (checked against the limit first).
    /// </summary>
    internal sealed class FrameReader
    {
        private readonly ByteSource source;
        private readonly int limit;
        private readonly byte[] buffer;
        private int start;
        private int end;

        internal FrameReader(ByteSource source, int limit, int bufferSize)
        {
            this.source = source;
            this.limit = limit;
            buffer = new byte[bufferSize];
        }

        /// <summary>Whether bytes beyond the last frame are waiting (the stream is out of step).</summary>
        internal bool HasBuffered { get { return end > start; } }

        /// <summary>Whether any byte of the frame last asked for arrived (after a failed <see cref="Next"/>: whether the answer had begun).</summary>
        internal bool Began { get; private set; }

        /// <summary>
        /// The next frame's body; valid until the next call. Throws <see cref="BrokenException"/>
        /// on end of stream (between frames or inside one) and <see cref="WireException"/>
        /// (<c>FrameTooLarge</c>) when the prefix announces more than the limit.
        /// </summary>
        internal ArraySegment<byte> Next()
        {
            Began = end > start;
            while (end - start < Limits.FrameHeaderLength)
            {
                Fill();
            }
            int length = Codec.AnnouncedLength(buffer, start, limit);
            int total = Limits.FrameHeaderLength + length;
            if (total > buffer.Length)
            {
                return ReadLarge(length);
            }
            if (buffer.Length - start < total)
            {
                Compact();
            }
            while (end - start < total)
            {
                Fill();
            }
            var body = new ArraySegment<byte>(buffer, start + Limits.FrameHeaderLength, length);
            start += total;
            if (start == end)
            {
                start = end = 0;
            }
            return body;
        }

        /// <summary>Zeroes the buffer (it held values).</summary>
        internal void Wipe()
        {
            Array.Clear(buffer, 0, buffer.Length);
            start = end = 0;
        }

        private ArraySegment<byte> ReadLarge(int length)
        {
            var body = new byte[length];
            int have = end - start - Limits.FrameHeaderLength;
            Buffer.BlockCopy(buffer, start + Limits.FrameHeaderLength, body, 0, have);
            start = end = 0;
            while (have < length)
            {
                int count = source.Read(body, have, length - have);
                if (count == 0)
                {
                    throw new BrokenException("end of stream", false);
                }
                have += count;
            }
            return new ArraySegment<byte>(body, 0, length);
        }

        private void Compact()
        {
            Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
            end -= start;
            start = 0;
        }

        private void Fill()
        {
            if (end == buffer.Length)
            {
                Compact();
            }
            int count = source.Read(buffer, end, buffer.Length - end);
            if (count == 0)
            {
                throw new BrokenException("end of stream", false);
            }
            Began = true;
            end += count;
        }
    }

    /// <summary>
    /// One Unix-socket connection to the sidecar: connect, write a frame, read a frame, and
    /// check for a closed peer. Knows nothing of handshakes or retries; not thread-safe (the
    /// client locks).
    /// </summary>
    internal sealed class Connection : IDisposable
    {
        private sealed class SocketSource : ByteSource
        {
            private readonly Socket socket;

            internal SocketSource(Socket socket) { this.socket = socket; }

            internal override int Read(byte[] buffer, int offset, int count)
            {
                try
                {
                    return socket.Receive(buffer, offset, count, SocketFlags.None);
                }
                catch (SocketException e)
                {
                    throw Broken(e);
                }
                catch (ObjectDisposedException)
                {
                    throw new BrokenException("closed", false);
                }
            }
        }

        private readonly Socket socket;
        private readonly FrameReader reader;

        internal Connection(Socket socket)
        {
            this.socket = socket;
            reader = new FrameReader(new SocketSource(socket), Limits.MaxResponseBody, Limits.ReadBufferSize);
        }

        /// <summary>Connects to the Unix socket at <paramref name="path"/>; throws <see cref="SocketException"/>.</summary>
        internal static Connection Open(string path, TimeSpan? timeout)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                if (timeout.HasValue)
                {
                    int ms = (int)Math.Max(1, Math.Min(int.MaxValue, timeout.Value.TotalMilliseconds));
                    socket.ReceiveTimeout = ms;
                    socket.SendTimeout = ms;
                }
                socket.Connect(Endpoints.Unix(path));
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            return new Connection(socket);
        }

        /// <summary>
        /// Whether the connection must not be reused: the peer closed it (idle timeout, restart),
        /// it failed, or unsolicited bytes came. A readable socket with nothing pending is any of
        /// those; checking costs one <c>poll</c> and never blocks.
        /// </summary>
        internal bool IsStale()
        {
            if (reader.HasBuffered)
            {
                return true;
            }
            try
            {
                return socket.Poll(0, SelectMode.SelectRead);
            }
            catch (SocketException)
            {
                return true;
            }
            catch (ObjectDisposedException)
            {
                return true;
            }
        }

        /// <summary>
        /// Whether this connection already carried an answered request: only then may a request
        /// that fails on it before its answer began be resent (PROTOCOL.md §7.4).
        /// </summary>
        internal bool IsReused { get; private set; }

        /// <summary>Records that a request was answered on this connection.</summary>
        internal void MarkAnswered() { IsReused = true; }

        /// <summary>Whether any byte of the frame last read arrived (see <see cref="FrameReader.Began"/>).</summary>
        internal bool AnswerBegan { get { return reader.Began; } }

        /// <summary>
        /// Writes <paramref name="count"/> bytes, in one write when the kernel takes them.
        /// Throws <see cref="WriteFailedException"/> when the peer had closed, else
        /// <see cref="BrokenException"/>.
        /// </summary>
        internal void Send(byte[] data, int count)
        {
            int sent = 0;
            while (sent < count)
            {
                try
                {
                    sent += socket.Send(data, sent, count - sent, SocketFlags.None);
                }
                catch (SocketException e)
                {
                    if (IsPeerGone(e.SocketErrorCode))
                    {
                        throw new WriteFailedException(e.SocketErrorCode.ToString());
                    }
                    throw Broken(e);
                }
                catch (ObjectDisposedException)
                {
                    throw new BrokenException("closed", false);
                }
            }
        }

        /// <summary>The next response frame's body (see <see cref="FrameReader.Next"/>).</summary>
        internal ArraySegment<byte> ReadFrame()
        {
            return reader.Next();
        }

        public void Dispose()
        {
            socket.Dispose();
            reader.Wipe();
        }

        private static bool IsPeerGone(SocketError code)
        {
            // EPIPE is SocketError.Shutdown in both .NET and Mono.
            return code == SocketError.Shutdown || code == SocketError.ConnectionReset
                || code == SocketError.ConnectionAborted;
        }

        private static BrokenException Broken(SocketException e)
        {
            bool timedOut = e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock;
            return new BrokenException(timedOut ? "timed out" : e.SocketErrorCode.ToString(), timedOut);
        }
    }
}
