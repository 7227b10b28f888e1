package dev.ax.secrets.wire;

import dev.ax.secrets.ErrorCode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The postcard codec of the v2 messages (PROTOCOL.md §3–§6) and the framing of §2.
 *
 * <pre>
 * Request  = id: varint u32, body: RequestBody     (tag varint, then the variant's fields)
 * Response = id: varint u32, body: ResponseBody
 *
 * Get with id 7:  00 00 00 11 | 07 | 01 | 0e "OPENAI_API_KEY"
 * </pre>
 */
public final class Codec {
    private Codec() {}

    // ---------------------------------------------------------------------------------------
    // Framing.

    /**
     * The body length announced by the complete 4-byte prefix at {@code data[offset]}.
     *
     * @throws WireException {@link WireError#FRAME_TOO_LARGE} when it exceeds {@code limit}:
     *     checked before anything is reserved for the body
     */
    public static int announcedLength(byte[] data, int offset, int limit) throws WireException {
        long length = ((data[offset] & 0xFFL) << 24)
                | ((data[offset + 1] & 0xFF) << 16)
                | ((data[offset + 2] & 0xFF) << 8)
                | (data[offset + 3] & 0xFF);
        if (length > limit) {
            throw new WireException(WireError.FRAME_TOO_LARGE);
        }
        return (int) length;
    }

    /**
     * The body of the one frame {@code stream} must consist of (how the shared vectors are run).
     *
     * @throws WireException {@code FrameTooLarge}, {@code Truncated} (the stream ends inside
     *     the frame) or {@code TrailingBytes} (more bytes after it)
     */
    public static byte[] onlyFrameBody(byte[] stream, int limit) throws WireException {
        if (stream.length < Limits.FRAME_HEADER_LEN) {
            throw new WireException(WireError.TRUNCATED);
        }
        int length = announcedLength(stream, 0, limit);
        long end = (long) Limits.FRAME_HEADER_LEN + length;
        if (stream.length < end) {
            throw new WireException(WireError.TRUNCATED);
        }
        if (stream.length > end) {
            throw new WireException(WireError.TRAILING_BYTES);
        }
        return Arrays.copyOfRange(stream, Limits.FRAME_HEADER_LEN, (int) end);
    }

    // ---------------------------------------------------------------------------------------
    // Requests.

    /**
     * Appends the whole frame of request {@code id} with {@code body} to {@code out}; returns
     * the body's length (the caller compares it with the request limit).
     *
     * @throws IllegalArgumentException when a string holds a lone surrogate
     */
    public static int writeRequestFrame(PostcardWriter out, long id, RequestBody body) {
        int at = out.beginFrame();
        out.varint(id);
        out.varint(body.tag());
        if (body instanceof RequestBody.Hello hello) {
            out.varint(hello.version());
            out.string(hello.client());
            out.optionString(hello.token());
        } else if (body instanceof RequestBody.Get get) {
            out.string(get.name());
        } else if (body instanceof RequestBody.Render render) {
            out.string(render.template());
        } else if (body instanceof RequestBody.Redact redact) {
            out.string(redact.text());
        }
        // ListSecrets and Ping are their tag alone.
        return out.endFrame(at);
    }

    /** The whole frame of {@code request}. */
    public static byte[] encodeRequestFrame(Request request) {
        PostcardWriter out = new PostcardWriter(64);
        writeRequestFrame(out, request.id(), request.body());
        return out.toByteArray();
    }

    /** Decodes one request body, which must hold exactly one request. */
    public static Request decodeRequest(byte[] data, int offset, int length) throws WireException {
        PostcardReader in = new PostcardReader(data, offset, length);
        long id = in.u32();
        RequestBody body = switch (in.tag(RequestBody.COUNT)) {
            case 0 -> new RequestBody.Hello(in.u16(), in.string(), in.optionString());
            case 1 -> new RequestBody.Get(in.string());
            case 2 -> RequestBody.ListSecrets.INSTANCE;
            case 3 -> new RequestBody.Render(in.string());
            case 4 -> new RequestBody.Redact(in.string());
            default -> RequestBody.Ping.INSTANCE;
        };
        in.finish();
        return new Request(id, body);
    }

    // ---------------------------------------------------------------------------------------
    // Responses.

    /** Appends the whole frame of {@code response} to {@code out}; returns the body length. */
    public static int writeResponseFrame(PostcardWriter out, Response response) {
        int at = out.beginFrame();
        ResponseBody body = response.body();
        out.varint(response.id());
        out.varint(body.tag());
        if (body instanceof ResponseBody.Hello hello) {
            out.varint(hello.version());
            out.string(hello.sidecar());
            out.string(hello.executionId());
        } else if (body instanceof ResponseBody.Secret secret) {
            out.optionString(secret.value());
        } else if (body instanceof ResponseBody.SecretList list) {
            out.varint(list.secrets().size());
            for (ResponseBody.Info info : list.secrets()) {
                out.string(info.name());
                out.varint(info.version());
                out.varint(info.updatedAt());
            }
        } else if (body instanceof ResponseBody.Rendered rendered) {
            out.string(rendered.text());
            out.strings(rendered.missing());
        } else if (body instanceof ResponseBody.Redacted redacted) {
            out.string(redacted.text());
            out.strings(redacted.found());
        } else if (body instanceof ResponseBody.Error error) {
            out.varint(error.code().tag());
            out.string(error.message());
        }
        // Pong is its tag alone.
        return out.endFrame(at);
    }

    /** The whole frame of {@code response}. */
    public static byte[] encodeResponseFrame(Response response) {
        PostcardWriter out = new PostcardWriter(64);
        writeResponseFrame(out, response);
        return out.toByteArray();
    }

    /** Decodes one response body, which must hold exactly one response. */
    public static Response decodeResponse(byte[] data, int offset, int length)
            throws WireException {
        PostcardReader in = new PostcardReader(data, offset, length);
        long id = in.u32();
        ResponseBody body = switch (in.tag(ResponseBody.COUNT)) {
            case 0 -> new ResponseBody.Hello(in.u16(), in.string(), in.string());
            case 1 -> new ResponseBody.Secret(in.optionString());
            case 2 -> secretList(in);
            case 3 -> new ResponseBody.Rendered(in.string(), in.strings());
            case 4 -> new ResponseBody.Redacted(in.string(), in.strings());
            case 5 -> ResponseBody.Pong.INSTANCE;
            default -> new ResponseBody.Error(ErrorCode.fromTag(in.tag(ErrorCode.count())),
                    in.string());
        };
        in.finish();
        return new Response(id, body);
    }

    private static ResponseBody secretList(PostcardReader in) throws WireException {
        int count = in.count();
        List<ResponseBody.Info> secrets = new ArrayList<>(Math.min(count, 64));
        for (int i = 0; i < count; i++) {
            String name = in.string();
            long version = in.u32();
            long updatedAt = in.u64();
            secrets.add(new ResponseBody.Info(name, version, updatedAt));
        }
        return new ResponseBody.SecretList(secrets);
    }
}
