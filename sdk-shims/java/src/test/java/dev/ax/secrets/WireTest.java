package dev.ax.secrets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ax.secrets.wire.Codec;
import dev.ax.secrets.wire.PostcardReader;
import dev.ax.secrets.wire.PostcardWriter;
import dev.ax.secrets.wire.Request;
import dev.ax.secrets.wire.RequestBody;
import dev.ax.secrets.wire.Utf8;
import dev.ax.secrets.wire.WireError;
import dev.ax.secrets.wire.WireException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The codec's primitives (PROTOCOL.md §4), beyond what the shared vectors pin. */
class WireTest {
    private static final HexFormat HEX = HexFormat.of();

    private static final long[] VARINTS = {0, 1, 127, 128, 300, 16383, 16384, 2097151, 2097152,
        268435455, 268435456, 4294967295L};
    private static final String[] VARINT_HEX = {"00", "01", "7f", "8001", "ac02", "ff7f",
        "808001", "ffff7f", "80808001", "ffffff7f", "8080808001", "ffffffff0f"};

    @Test
    void varintsEncodeAndDecodeAsTheTableOfSection41() throws WireException {
        for (int i = 0; i < VARINTS.length; i++) {
            PostcardWriter w = new PostcardWriter(16);
            w.varint(VARINTS[i]);
            assertEquals(VARINT_HEX[i], HEX.formatHex(w.toByteArray()), "" + VARINTS[i]);
            byte[] bytes = HEX.parseHex(VARINT_HEX[i]);
            PostcardReader r = new PostcardReader(bytes, 0, bytes.length);
            assertEquals(VARINTS[i], r.u32());
            r.finish();
        }
    }

    private static WireError varintError(String hex, int bits) {
        byte[] bytes = HEX.parseHex(hex);
        WireException e = assertThrows(WireException.class,
                () -> new PostcardReader(bytes, 0, bytes.length).varint(bits));
        return e.error();
    }

    @Test
    void varintsBeyondTheirTypeAreRefused() throws WireException {
        assertEquals(WireError.INVALID_VARINT, varintError("ffffffff10", 32));
        assertEquals(WireError.INVALID_VARINT, varintError("8080808080", 32));
        assertEquals(WireError.INVALID_VARINT, varintError("ffff04", 16));
        assertEquals(WireError.INVALID_VARINT, varintError("ffffffffffffffffff02", 64));
        assertEquals(WireError.UNEXPECTED_END, varintError("80", 32));
        byte[] max16 = HEX.parseHex("ffff03");
        assertEquals(65535, new PostcardReader(max16, 0, 3).u16());
        byte[] max64 = HEX.parseHex("ffffffffffffffffff01");
        assertEquals(-1L, new PostcardReader(max64, 0, 10).u64(), "u64 max: all 64 bits set");
        byte[] longForm = HEX.parseHex("8100");
        assertEquals(1, new PostcardReader(longForm, 0, 2).u32(), "a non-canonical form is read");
    }

    @Test
    void aStringLengthPastTheEndIsRefusedBeforeAllocating() {
        byte[] huge = HEX.parseHex("ffffffffffffffff7f41"); // a length of 2^63 - 1
        WireException e = assertThrows(WireException.class,
                () -> new PostcardReader(huge, 0, huge.length).string());
        assertEquals(WireError.UNEXPECTED_END, e.error());
        byte[] top = HEX.parseHex("ffffffffffffffffff0141"); // 2^64 - 1, negative as a long
        e = assertThrows(WireException.class, () -> new PostcardReader(top, 0, top.length).string());
        assertEquals(WireError.UNEXPECTED_END, e.error());
    }

    @Test
    void aSequenceCountPastTheEndIsRefused() {
        byte[] lie = HEX.parseHex("ffffffff0f");
        WireException e = assertThrows(WireException.class,
                () -> new PostcardReader(lie, 0, lie.length).strings());
        assertEquals(WireError.UNEXPECTED_END, e.error());
    }

    @Test
    void utf8IsCheckedStrictly() {
        String[] bad = {"ff", "c080", "c1bf", "eda080", "edbfbf", "e08080", "f08080", "f4908080",
            "f5808080", "80", "c3", "e282", "f09f8c"};
        for (String hex : bad) {
            byte[] b = HEX.parseHex(hex);
            assertFalse(Utf8.isValid(b, 0, b.length), hex);
        }
        for (String s : new String[] {"", "a", "é", "€", "密码", "🔑", "\u0000", "\uFFFF", "\uD7FF",
            new String(Character.toChars(0x10FFFF))}) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            assertTrue(Utf8.isValid(b, 0, b.length), s);
        }
    }

    @Test
    void theEncoderWritesUtf8AsTheJdkDoes() {
        String text = "a é € 密码 🔑 \u0000 \uFFFF";
        PostcardWriter w = new PostcardWriter(4);
        w.string(text);
        byte[] expected = text.getBytes(StandardCharsets.UTF_8);
        byte[] got = w.toByteArray();
        assertEquals(expected.length, got.length - 1);
        assertArrayEquals(expected, java.util.Arrays.copyOfRange(got, 1, got.length));
        assertThrows(IllegalArgumentException.class, () -> new PostcardWriter(4).string("x\uD800y"));
        assertThrows(IllegalArgumentException.class, () -> new PostcardWriter(4).string("\uDC00"));
        assertEquals(4, Utf8.firstLoneSurrogate("ab\uD83D\uDD11\uDC00"));
    }

    @Test
    void aWriterIsReusedFrameAfterFrame() {
        PostcardWriter w = new PostcardWriter(16);
        Codec.writeRequestFrame(w, 7, new RequestBody.Get("OPENAI_API_KEY"));
        assertEquals("0000001107010e4f50454e41495f4150495f4b4559", HEX.formatHex(w.toByteArray()));
        w.reset();
        Codec.writeRequestFrame(w, 20, RequestBody.Ping.INSTANCE);
        assertEquals("000000021405", HEX.formatHex(w.toByteArray()));
        w.reset(16);
        assertArrayEquals(Codec.encodeRequestFrame(new Request(128, RequestBody.Ping.INSTANCE)),
                HEX.parseHex("00000003800105"));
    }

    @Test
    void theFrameLengthIsCheckedBeforeTheBody() {
        WireException e = assertThrows(WireException.class,
                () -> Codec.announcedLength(HEX.parseHex("00100001"), 0, 1024 * 1024));
        assertEquals(WireError.FRAME_TOO_LARGE, e.error());
        e = assertThrows(WireException.class,
                () -> Codec.announcedLength(HEX.parseHex("ffffffff"), 0, 16 * 1024 * 1024));
        assertEquals(WireError.FRAME_TOO_LARGE, e.error());
    }

    @Test
    void namesFollowTheRule() {
        assertTrue(Names.isValid("A"));
        assertTrue(Names.isValid("a" + "_1".repeat(63) + "b"));
        assertFalse(Names.isValid("a" + "b".repeat(128)));
        assertEquals(Names.Problem.TOO_LONG, Names.problem("ü".repeat(65)).orElseThrow());
        assertEquals(Names.Problem.BAD_FIRST_CHARACTER, Names.problem("ü").orElseThrow());
        assertEquals(Names.Problem.BAD_CHARACTER, Names.problem("aü").orElseThrow());
    }
}
