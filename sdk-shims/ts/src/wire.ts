/**
 * Framing and the postcard codec of protocol v2 (PROTOCOL §2, §4).
 *
 * Every message travels as one frame:
 *
 * ```text
 * +----------------------+------------------------------------------+
 * | length: u32, big-end |  body: `length` bytes                    |
 * |      (4 bytes)       |  exactly one postcard-encoded message    |
 * +----------------------+------------------------------------------+
 *
 * Ping with id 20:   00 00 00 02 | 14 (id 20, varint) | 05 (request tag 5 = Ping)
 * ```
 *
 * Inside the body, integers are unsigned LEB128 varints (least significant group first),
 * strings are a varint byte length and UTF-8, `Option` is a `00`/`01` tag, enums are a varint
 * tag then their fields, sequences are a varint count then their elements. Decoders accept
 * non-canonical (over-long) varints within the type's width; encoders write the shortest form.
 * Reading frames off a stream is `FrameDecoder`'s job (decoder.ts).
 */

import { isUtf8 } from "node:buffer";

import { WireError } from "./errors";
import { FRAME_HEADER_LEN } from "./limits";
import {
  ERROR_CODES,
  REQUEST_TYPES,
  RESPONSE_TYPES,
  type ErrorCode,
  type Request,
  type Response,
  type WireSecretInfo,
} from "./messages";

// ------------------------------------------------------------------------------------------
// Framing.

/**
 * The body of the one frame `stream` must consist of (as the shared vectors are run).
 *
 * @throws WireError `FrameTooLarge` (checked on the prefix alone), `Truncated` (the stream ends
 *   inside the frame) or `TrailingBytes` (more bytes after it).
 */
export function readFrameFromStream(stream: Buffer, limit: number): Buffer {
  if (stream.length < FRAME_HEADER_LEN) {
    throw new WireError("Truncated");
  }
  const length = stream.readUInt32BE(0);
  if (length > limit) {
    throw new WireError("FrameTooLarge");
  }
  const end = FRAME_HEADER_LEN + length;
  if (stream.length < end) {
    throw new WireError("Truncated");
  }
  if (stream.length !== end) {
    throw new WireError("TrailingBytes");
  }
  return stream.subarray(FRAME_HEADER_LEN, end);
}

/** `body` with its length prefix. */
export function frame(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_LEN + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, FRAME_HEADER_LEN);
  return out;
}

// ------------------------------------------------------------------------------------------
// Encoding.

/** How many bytes the shortest varint of `value` takes. */
export function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    length += 1;
  }
  return length;
}

/** Writes the shortest varint of `value` (a non-negative integer) at `offset`; returns the end. */
export function writeVarint(out: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    out[offset++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[offset++] = value;
  return offset;
}

/** The shortest unsigned LEB128 encoding of `value`. */
export function varint(value: number): Buffer {
  const out = Buffer.allocUnsafe(varintLength(value));
  writeVarint(out, 0, value);
  return out;
}

/**
 * The whole frame of `Get { name }` with `id`: the per-call path of `get`, one allocation.
 * `name` must be ASCII (a valid name always is).
 */
export function encodeGetFrame(id: number, name: string): Buffer {
  const bodyLength = varintLength(id) + 1 + varintLength(name.length) + name.length;
  const out = Buffer.allocUnsafe(FRAME_HEADER_LEN + bodyLength);
  out.writeUInt32BE(bodyLength, 0);
  let offset = writeVarint(out, FRAME_HEADER_LEN, id);
  out[offset++] = 1;
  offset = writeVarint(out, offset, name.length);
  out.write(name, offset, "latin1");
  return out;
}

/** The whole frame of a request whose only field is one string (`Render`, `Redact`, `Get`). */
export function encodeTextFrame(id: number, tag: number, text: string): Buffer {
  const size = Buffer.byteLength(text, "utf8");
  const bodyLength = varintLength(id) + 1 + varintLength(size) + size;
  const out = Buffer.allocUnsafe(FRAME_HEADER_LEN + bodyLength);
  out.writeUInt32BE(bodyLength, 0);
  let offset = writeVarint(out, FRAME_HEADER_LEN, id);
  out[offset++] = tag;
  offset = writeVarint(out, offset, size);
  out.write(text, offset, size, "utf8");
  return out;
}

/** The body length of {@link encodeTextFrame}'s frame, to check a limit before encoding. */
export function textBodyLength(id: number, text: string): number {
  const size = Buffer.byteLength(text, "utf8");
  return varintLength(id) + 1 + varintLength(size) + size;
}

/** Collects the pieces of one message body. */
class Writer {
  private readonly parts: Buffer[] = [];

  varint(value: number): this {
    this.parts.push(varint(value));
    return this;
  }

  string(text: string): this {
    const data = Buffer.from(text, "utf8");
    this.parts.push(varint(data.length), data);
    return this;
  }

  optionString(text: string | null): this {
    if (text === null) {
      return this.varint(0);
    }
    return this.varint(1).string(text);
  }

  strings(list: readonly string[]): this {
    this.varint(list.length);
    for (const item of list) {
      this.string(item);
    }
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** The postcard body of `request` (no length prefix). */
export function encodeRequest(request: Request): Buffer {
  const w = new Writer().varint(request.id).varint(REQUEST_TYPES.indexOf(request.type));
  switch (request.type) {
    case "Hello":
      w.varint(request.version).string(request.client).optionString(request.token);
      break;
    case "Get":
      w.string(request.name);
      break;
    case "Render":
      w.string(request.template);
      break;
    case "Redact":
      w.string(request.text);
      break;
    case "List":
    case "Ping":
      break;
  }
  return w.finish();
}

/** The postcard body of `response` (no length prefix). */
export function encodeResponse(response: Response): Buffer {
  const w = new Writer().varint(response.id).varint(RESPONSE_TYPES.indexOf(response.type));
  switch (response.type) {
    case "Hello":
      w.varint(response.version).string(response.sidecar).string(response.executionId);
      break;
    case "Secret":
      w.optionString(response.value);
      break;
    case "List":
      w.varint(response.secrets.length);
      for (const info of response.secrets) {
        w.string(info.name).varint(info.version).varint(info.updatedAt);
      }
      break;
    case "Rendered":
      w.string(response.text).strings(response.missing);
      break;
    case "Redacted":
      w.string(response.text).strings(response.found);
      break;
    case "Error":
      w.varint(ERROR_CODES.indexOf(response.code)).string(response.message);
      break;
    case "Pong":
      break;
  }
  return w.finish();
}

// ------------------------------------------------------------------------------------------
// Decoding.

/** Strings up to this many bytes are checked for ASCII in JavaScript before native UTF-8. */
const SHORT_STRING = 64;

/** A cursor over one frame body; every read checks the bytes left before using them. */
class Reader {
  pos = 0;

  constructor(private readonly data: Buffer) {}

  /** An unsigned varint of a type of `bits` bits (16, 32 or 64). */
  varint(bits: number): number {
    const data = this.data;
    let pos = this.pos;
    if (pos < data.length && data[pos]! < 0x80) {
      this.pos = pos + 1;
      return data[pos]!;
    }
    const last = Math.ceil(bits / 7) - 1;
    let value = 0;
    let scale = 1;
    for (let i = 0; i <= last; i++) {
      if (pos >= data.length) {
        throw new WireError("UnexpectedEnd");
      }
      const b = data[pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (i === last && b > 2 ** (bits - 7 * i) - 1) {
          throw new WireError("InvalidVarint");
        }
        this.pos = pos;
        return value;
      }
      scale *= 0x80;
    }
    throw new WireError("InvalidVarint");
  }

  tag(count: number): number {
    const tag = this.varint(32);
    if (tag >= count) {
      throw new WireError("UnknownVariant");
    }
    return tag;
  }

  string(): string {
    const length = this.varint(64);
    const data = this.data;
    const start = this.pos;
    if (length > data.length - start) {
      throw new WireError("UnexpectedEnd");
    }
    const end = start + length;
    this.pos = end;
    if (length <= SHORT_STRING) {
      let ascii = true;
      for (let i = start; i < end; i++) {
        if (data[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        return data.toString("latin1", start, end);
      }
    }
    if (!isUtf8(data.subarray(start, end))) {
      throw new WireError("InvalidUtf8");
    }
    return data.toString("utf8", start, end);
  }

  optionString(): string | null {
    if (this.pos >= this.data.length) {
      throw new WireError("UnexpectedEnd");
    }
    const flag = this.data[this.pos++];
    if (flag === 0) {
      return null;
    }
    if (flag === 1) {
      return this.string();
    }
    throw new WireError("InvalidOptionTag");
  }

  strings(): string[] {
    // No pre-allocation for the announced count: a lie runs into UnexpectedEnd.
    const count = this.varint(64);
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      out.push(this.string());
    }
    return out;
  }

  secretInfo(): WireSecretInfo {
    const name = this.string();
    const version = this.varint(32);
    const updatedAt = this.varint(64);
    return { name, version, updatedAt };
  }

  finish(): void {
    if (this.pos !== this.data.length) {
      throw new WireError("TrailingBytes");
    }
  }
}

/** Decodes one request body; throws `WireError` on any malformation. */
export function decodeRequest(body: Buffer): Request {
  const r = new Reader(body);
  const id = r.varint(32);
  let request: Request;
  switch (REQUEST_TYPES[r.tag(REQUEST_TYPES.length)]) {
    case "Hello": {
      const version = r.varint(16);
      const client = r.string();
      request = { id, type: "Hello", version, client, token: r.optionString() };
      break;
    }
    case "Get":
      request = { id, type: "Get", name: r.string() };
      break;
    case "List":
      request = { id, type: "List" };
      break;
    case "Render":
      request = { id, type: "Render", template: r.string() };
      break;
    case "Redact":
      request = { id, type: "Redact", text: r.string() };
      break;
    default:
      request = { id, type: "Ping" };
      break;
  }
  r.finish();
  return request;
}

/** Decodes one response body; throws `WireError` on any malformation. */
export function decodeResponse(body: Buffer): Response {
  const r = new Reader(body);
  const id = r.varint(32);
  const tag = r.tag(RESPONSE_TYPES.length);
  let response: Response;
  if (tag === 1) {
    // Secret: the per-call path of `get`, first.
    response = { id, type: "Secret", value: r.optionString() };
  } else if (tag === 0) {
    const version = r.varint(16);
    const sidecar = r.string();
    response = { id, type: "Hello", version, sidecar, executionId: r.string() };
  } else if (tag === 2) {
    const count = r.varint(64);
    const secrets: WireSecretInfo[] = [];
    for (let i = 0; i < count; i++) {
      secrets.push(r.secretInfo());
    }
    response = { id, type: "List", secrets };
  } else if (tag === 3) {
    const text = r.string();
    response = { id, type: "Rendered", text, missing: r.strings() };
  } else if (tag === 4) {
    const text = r.string();
    response = { id, type: "Redacted", text, found: r.strings() };
  } else if (tag === 5) {
    response = { id, type: "Pong" };
  } else {
    const code: ErrorCode = ERROR_CODES[r.tag(ERROR_CODES.length)]!;
    response = { id, type: "Error", code, message: r.string() };
  }
  r.finish();
  return response;
}
