package dev.ax.secrets.wire;

import java.util.Arrays;
import java.util.List;

/**
 * A growable byte buffer that builds one frame at a time: {@link #beginFrame()} reserves the
 * length prefix, the field writers append, {@link #endFrame()} fills the prefix in. Reused from
 * request to request, so the steady state allocates nothing.
 */
public final class PostcardWriter {
    private byte[] buffer;
    private int size;

    /** A writer with room for {@code capacity} bytes before it grows. */
    public PostcardWriter(int capacity) {
        buffer = new byte[Math.max(capacity, 16)];
    }

    /** The bytes written so far are {@code array()[0, size())}. */
    public byte[] array() {
        return buffer;
    }

    /** How many bytes were written. */
    public int size() {
        return size;
    }

    /** A copy of the bytes written. */
    public byte[] toByteArray() {
        return Arrays.copyOf(buffer, size);
    }

    /** Forgets what was written; shrinks a buffer grown past {@code keep} bytes back to it. */
    public void reset(int keep) {
        if (buffer.length > keep) {
            buffer = new byte[keep];
        }
        size = 0;
    }

    /** Forgets what was written. */
    public void reset() {
        size = 0;
    }

    private void ensure(long more) {
        long need = size + more;
        if (need > buffer.length) {
            if (need > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("message too large to encode");
            }
            long grown = Math.max(need, (long) buffer.length * 2);
            buffer = Arrays.copyOf(buffer, (int) Math.min(grown, Integer.MAX_VALUE - 8));
        }
    }

    /** Starts a frame: reserves its 4-byte length prefix. Returns where the prefix is. */
    public int beginFrame() {
        ensure(Limits.FRAME_HEADER_LEN);
        int at = size;
        size += Limits.FRAME_HEADER_LEN;
        return at;
    }

    /** Ends the frame begun at {@code at}: writes its body length; returns that length. */
    public int endFrame(int at) {
        int length = size - at - Limits.FRAME_HEADER_LEN;
        buffer[at] = (byte) (length >>> 24);
        buffer[at + 1] = (byte) (length >>> 16);
        buffer[at + 2] = (byte) (length >>> 8);
        buffer[at + 3] = (byte) length;
        return length;
    }

    /** One raw byte. */
    public void rawByte(int b) {
        ensure(1);
        buffer[size++] = (byte) b;
    }

    /** The shortest varint of {@code value}, read as unsigned. */
    public void varint(long value) {
        ensure(10);
        byte[] b = buffer;
        int p = size;
        while ((value & ~0x7FL) != 0) {
            b[p++] = (byte) ((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        b[p++] = (byte) value;
        size = p;
    }

    /**
     * A string: its UTF-8 length as a varint, then its UTF-8.
     *
     * @throws IllegalArgumentException when {@code text} holds a lone surrogate
     */
    public void string(String text) {
        long length = Utf8.encodedLength(text);
        ensure(length + 10);
        varint(length);
        size = Utf8.encode(text, buffer, size);
    }

    /** An {@code Option<string>}: {@code null} is {@code None}. */
    public void optionString(String text) {
        if (text == null) {
            rawByte(0);
        } else {
            rawByte(1);
            string(text);
        }
    }

    /** A {@code seq<string>}. */
    public void strings(List<String> items) {
        varint(items.size());
        for (String item : items) {
            string(item);
        }
    }
}
