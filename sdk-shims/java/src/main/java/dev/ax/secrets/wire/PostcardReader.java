package dev.ax.secrets.wire;

import java.util.ArrayList;
import java.util.List;

/**
 * A cursor over one frame body. Every read checks the bytes left before using them, and
 * nothing is allocated for a length or count before the bytes it announces are there.
 */
public final class PostcardReader {
    private final byte[] data;
    private int position;
    private final int end;

    /** Reads {@code data[offset, offset + length)}. */
    public PostcardReader(byte[] data, int offset, int length) {
        this.data = data;
        this.position = offset;
        this.end = offset + length;
    }

    /**
     * An unsigned varint of {@code bits} bits (16, 32 or 64), as PROTOCOL.md §4.1 decodes it;
     * a {@code u64} above {@link Long#MAX_VALUE} comes back negative (read it unsigned).
     */
    public long varint(int bits) throws WireException {
        int p = position;
        if (p < end && data[p] >= 0) { // the common one-byte case
            position = p + 1;
            return data[p];
        }
        int last = (bits + 6) / 7 - 1;
        long value = 0;
        for (int i = 0; i <= last; i++) {
            if (p >= end) {
                throw new WireException(WireError.UNEXPECTED_END);
            }
            int b = data[p++] & 0xFF;
            value |= (long) (b & 0x7F) << (7 * i);
            if (b < 0x80) {
                if (i == last && b > (1 << (bits - 7 * i)) - 1) {
                    throw new WireException(WireError.INVALID_VARINT);
                }
                position = p;
                return value;
            }
        }
        throw new WireException(WireError.INVALID_VARINT);
    }

    /** A {@code u16} varint. */
    public int u16() throws WireException {
        return (int) varint(16);
    }

    /** A {@code u32} varint (0 to 4 294 967 295). */
    public long u32() throws WireException {
        return varint(32);
    }

    /** A {@code u64} varint, its 64 bits in a {@code long} (unsigned). */
    public long u64() throws WireException {
        return varint(64);
    }

    /** An enum tag below {@code count}; anything else is {@link WireError#UNKNOWN_VARIANT}. */
    public int tag(int count) throws WireException {
        long tag = varint(32);
        if (tag >= count) {
            throw new WireException(WireError.UNKNOWN_VARIANT);
        }
        return (int) tag;
    }

    /** A length or count ({@code usize}, read as a {@code u64}) that fits in what is left. */
    private int length() throws WireException {
        long length = varint(64);
        // Unsigned: a length with its top bit set is past the end however it is read.
        if (length < 0 || length > end - position) {
            throw new WireException(WireError.UNEXPECTED_END);
        }
        return (int) length;
    }

    /** A string: varint byte length, then that many bytes of UTF-8. */
    public String string() throws WireException {
        int length = length();
        int start = position;
        position = start + length;
        return Utf8.decode(data, start, length);
    }

    /** An {@code Option<string>}: {@code null} for {@code None}. */
    public String optionString() throws WireException {
        if (position >= end) {
            throw new WireException(WireError.UNEXPECTED_END);
        }
        int flag = data[position++];
        if (flag == 0) {
            return null;
        }
        if (flag == 1) {
            return string();
        }
        throw new WireException(WireError.INVALID_OPTION_TAG);
    }

    /**
     * A sequence count. Every element takes at least one byte, so a count above the bytes left
     * is refused at once; callers still grow their lists element by element.
     */
    public int count() throws WireException {
        return length();
    }

    /** A {@code seq<string>}. */
    public List<String> strings() throws WireException {
        int count = count();
        List<String> out = new ArrayList<>(Math.min(count, 16));
        for (int i = 0; i < count; i++) {
            out.add(string());
        }
        return out;
    }

    /** Requires the body to be consumed exactly. */
    public void finish() throws WireException {
        if (position != end) {
            throw new WireException(WireError.TRAILING_BYTES);
        }
    }
}
