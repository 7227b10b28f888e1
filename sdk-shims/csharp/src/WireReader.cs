using System.Collections.Generic;
using System.Text;

// Reading postcard primitives; see Codec.cs for the frame and the message layout.

namespace Ax.Secrets
{
    /// <summary>A cursor over one frame body; every read checks the bytes left before using them.</summary>
    internal struct WireReader
    {
        private readonly byte[] data;
        private readonly int end;
        private int position;

        internal WireReader(byte[] data, int offset, int count)
        {
            this.data = data;
            position = offset;
            end = offset + count;
        }

        /// <summary>An unsigned LEB128 varint of a type <paramref name="bits"/> wide (16, 32 or 64).</summary>
        internal ulong Varint(int bits)
        {
            if (position < end && data[position] < 0x80)
            {
                return data[position++];
            }
            ulong value = 0;
            int last = (bits + 6) / 7 - 1;
            for (int i = 0; i <= last; i++)
            {
                if (position >= end)
                {
                    throw new WireException(WireError.UnexpectedEnd);
                }
                byte b = data[position++];
                value |= (ulong)(b & 0x7f) << (7 * i);
                if (b < 0x80)
                {
                    if (i == last && b > (1 << (bits - 7 * i)) - 1)
                    {
                        throw new WireException(WireError.InvalidVarint);
                    }
                    return value;
                }
            }
            throw new WireException(WireError.InvalidVarint);
        }

        internal ushort U16() { return (ushort)Varint(16); }
        internal uint U32() { return (uint)Varint(32); }
        internal ulong U64() { return Varint(64); }

        /// <summary>An enum tag below <paramref name="count"/>.</summary>
        internal int Tag(int count)
        {
            uint tag = U32();
            if (tag >= count)
            {
                throw new WireException(WireError.UnknownVariant);
            }
            return (int)tag;
        }

        internal string String()
        {
            ulong length = Varint(64);
            if (length > (ulong)(end - position))
            {
                throw new WireException(WireError.UnexpectedEnd);
            }
            int count = (int)length;
            string text;
            try
            {
                text = Utf8.Strict.GetString(data, position, count);
            }
            catch (DecoderFallbackException)
            {
                throw new WireException(WireError.InvalidUtf8);
            }
            position += count;
            return text;
        }

        internal string OptionString()
        {
            if (position >= end)
            {
                throw new WireException(WireError.UnexpectedEnd);
            }
            byte flag = data[position++];
            if (flag == 0)
            {
                return null;
            }
            if (flag == 1)
            {
                return String();
            }
            throw new WireException(WireError.InvalidOptionTag);
        }

        /// <summary>A sequence of strings; no room is reserved for a count not yet backed by bytes.</summary>
        internal List<string> Strings()
        {
            ulong count = Varint(64);
            var texts = new List<string>();
            for (ulong i = 0; i < count; i++)
            {
                texts.Add(String());
            }
            return texts;
        }

        /// <summary>Requires the body to end here.</summary>
        internal void Finish()
        {
            if (position != end)
            {
                throw new WireException(WireError.TrailingBytes);
            }
        }
    }
}
