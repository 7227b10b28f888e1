using System;
using System.Collections.Generic;
using System.Text;

namespace Ax.Secrets
{
    /// <summary>Strict UTF-8: invalid bytes, overlong forms and lone surrogates throw.</summary>
    internal static class Utf8
    {
        internal static readonly UTF8Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>
        /// The UTF-8 length of <paramref name="text"/>, or -1 with the index of the first lone
        /// surrogate in <paramref name="badIndex"/>.
        /// </summary>
        internal static int ByteCount(string text, out int badIndex)
        {
            badIndex = -1;
            try
            {
                return Strict.GetByteCount(text);
            }
            catch (EncoderFallbackException e)
            {
                badIndex = e.Index;
                return -1;
            }
        }
    }

    /// <summary>
    /// Writes one frame into a reusable buffer: <see cref="Begin"/>, the fields, <see cref="End"/>.
    /// </summary>
    internal sealed class WireWriter
    {
        private byte[] buffer;
        private int position;

        internal WireWriter(int capacity)
        {
            buffer = new byte[Math.Max(capacity, 16)];
        }

        /// <summary>The buffer holding the frame, from index 0 to <see cref="Length"/>.</summary>
        internal byte[] Buffer { get { return buffer; } }

        /// <summary>Bytes written, the length prefix included.</summary>
        internal int Length { get { return position; } }

        /// <summary>Bytes of the body written so far.</summary>
        internal int BodyLength { get { return position - Limits.FrameHeaderLength; } }

        /// <summary>Starts a frame: leaves room for the length prefix.</summary>
        internal void Begin()
        {
            position = Limits.FrameHeaderLength;
        }

        /// <summary>Writes the length prefix of the frame begun last.</summary>
        internal void End()
        {
            int length = BodyLength;
            buffer[0] = (byte)(length >> 24);
            buffer[1] = (byte)(length >> 16);
            buffer[2] = (byte)(length >> 8);
            buffer[3] = (byte)length;
        }

        /// <summary>Zeroes what was written (a request may have carried a text holding values).</summary>
        internal void Wipe()
        {
            Array.Clear(buffer, 0, position);
            position = 0;
        }

        /// <summary>Drops a grown buffer, so one large request does not pin its memory.</summary>
        internal void Shrink(int capacity)
        {
            if (buffer.Length > capacity)
            {
                buffer = new byte[capacity];
                position = 0;
            }
        }

        internal void Byte(byte value)
        {
            Reserve(1);
            buffer[position++] = value;
        }

        internal void Varint(ulong value)
        {
            Reserve(10);
            while (value >= 0x80)
            {
                buffer[position++] = (byte)(value | 0x80);
                value >>= 7;
            }
            buffer[position++] = (byte)value;
        }

        /// <summary>A varint length and the UTF-8; throws <see cref="ArgumentException"/> on a lone surrogate.</summary>
        internal void String(string text)
        {
            int badIndex;
            int count = Utf8.ByteCount(text, out badIndex);
            if (count < 0)
            {
                throw new ArgumentException(ErrorMessages.NotUnicode("string", badIndex));
            }
            Varint((ulong)count);
            Reserve(count);
            position += Utf8.Strict.GetBytes(text, 0, text.Length, buffer, position);
        }

        /// <summary>A name already checked to be ASCII: no encoder needed.</summary>
        internal void AsciiString(string text)
        {
            Varint((ulong)text.Length);
            Reserve(text.Length);
            for (int i = 0; i < text.Length; i++)
            {
                buffer[position++] = (byte)text[i];
            }
        }

        internal void OptionString(string text)
        {
            if (text == null)
            {
                Byte(0);
            }
            else
            {
                Byte(1);
                String(text);
            }
        }

        internal void Strings(List<string> texts)
        {
            Varint((ulong)texts.Count);
            foreach (string text in texts)
            {
                String(text);
            }
        }

        private void Reserve(int count)
        {
            if (buffer.Length - position >= count)
            {
                return;
            }
            long wanted = Math.Max((long)buffer.Length * 2, (long)position + count);
            var grown = new byte[(int)Math.Min(wanted, int.MaxValue)];
            System.Buffer.BlockCopy(buffer, 0, grown, 0, position);
            Array.Clear(buffer, 0, position);
            buffer = grown;
        }

        /// <summary>The number of bytes of the shortest varint of <paramref name="value"/>.</summary>
        internal static int VarintLength(ulong value)
        {
            int count = 1;
            while (value >= 0x80)
            {
                value >>= 7;
                count++;
            }
            return count;
        }
    }
}
