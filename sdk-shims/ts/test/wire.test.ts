/** Framing and the codec: frames split at every byte boundary, limits checked up front. */

import { strict as assert } from "node:assert";
import { describe, test } from "node:test";

import { FrameDecoder } from "../src/decoder";
import { WireError } from "../src/errors";
import { MAX_REQUEST_FRAME, MAX_RESPONSE_FRAME } from "../src/limits";
import {
  decodeResponse,
  encodeGetFrame,
  encodeRequest,
  encodeResponse,
  encodeTextFrame,
  frame,
  varint,
} from "../src/wire";

/** Feeds `chunks` to a fresh decoder; returns the bodies it handed on and where it stopped. */
function feed(
  chunks: Buffer[],
  limit = MAX_RESPONSE_FRAME,
): { bodies: Buffer[]; inFrame: boolean } {
  const bodies: Buffer[] = [];
  const decoder = new FrameDecoder(limit, (body) => {
    bodies.push(Buffer.from(body)); // a view of a chunk is only valid during the call
    return true;
  });
  for (const chunk of chunks) {
    decoder.push(chunk);
  }
  return { bodies, inFrame: decoder.inFrame };
}

const FRAME = frame(encodeResponse({ id: 300, type: "Secret", value: "ünïcode value" }));
const PONG = frame(encodeResponse({ id: 7, type: "Pong" }));

describe("the frame decoder", () => {
  test("reads a frame split at every byte", () => {
    for (let cut = 1; cut < FRAME.length; cut++) {
      const { bodies, inFrame } = feed([FRAME.subarray(0, cut), FRAME.subarray(cut)]);
      assert.deepEqual(bodies, [FRAME.subarray(4)], `cut at ${cut}`);
      assert.equal(inFrame, false);
    }
  });

  test("reads two frames split at every pair of bytes", () => {
    const two = Buffer.concat([FRAME, PONG]);
    for (let a = 1; a < two.length; a++) {
      for (let b = a; b < two.length; b++) {
        const chunks = [two.subarray(0, a), two.subarray(a, b), two.subarray(b)];
        assert.deepEqual(feed(chunks).bodies, [FRAME.subarray(4), PONG.subarray(4)]);
      }
    }
  });

  test("reads a frame one byte at a time", () => {
    const chunks = [...FRAME].map((b) => Buffer.from([b]));
    assert.deepEqual(feed(chunks).bodies, [FRAME.subarray(4)]);
  });

  test("reads a large frame in many pieces", () => {
    const big = frame(encodeResponse({ id: 1, type: "Secret", value: "x".repeat(1_000_000) }));
    const chunks: Buffer[] = [];
    for (let at = 0; at < big.length; at += 4093) {
      chunks.push(big.subarray(at, at + 4093));
    }
    const { bodies } = feed(chunks);
    assert.equal(bodies.length, 1);
    assert.ok(bodies[0]!.equals(big.subarray(4)));
  });

  test("reads many frames from one chunk", () => {
    const many = Buffer.concat([FRAME, PONG, FRAME, PONG, PONG]);
    assert.equal(feed([many]).bodies.length, 5);
  });

  test("reports being inside a frame for every cut-short stream", () => {
    for (let cut = 1; cut < FRAME.length; cut++) {
      const { bodies, inFrame } = feed([FRAME.subarray(0, cut)]);
      assert.equal(bodies.length, 0);
      assert.equal(inFrame, true, `cut at ${cut}`);
    }
  });

  test("hands on a zero-length body, which does not decode", () => {
    const { bodies } = feed([Buffer.from([0, 0, 0, 0])]);
    assert.equal(bodies.length, 1);
    assert.throws(
      () => decodeResponse(bodies[0]!),
      (e: unknown) => (e as WireError).kind === "UnexpectedEnd",
    );
  });

  test("refuses a frame over the limit from its prefix alone", () => {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(MAX_RESPONSE_FRAME + 1);
    assert.throws(
      () => feed([prefix]),
      (e: unknown) => e instanceof WireError && e.kind === "FrameTooLarge",
    );
    const split = [prefix.subarray(0, 2), prefix.subarray(2)];
    assert.throws(
      () => feed(split),
      (e: unknown) => e instanceof WireError && e.kind === "FrameTooLarge",
    );
  });

  test("takes a frame of exactly the limit", () => {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(16);
    const { bodies, inFrame } = feed([prefix, Buffer.alloc(15)], 16);
    assert.deepEqual([bodies.length, inFrame], [0, true]);
    assert.equal(feed([prefix, Buffer.alloc(16)], 16).bodies.length, 1);
  });

  test("stops when the sink says so", () => {
    const bodies: Buffer[] = [];
    const decoder = new FrameDecoder(MAX_RESPONSE_FRAME, (body) => {
      bodies.push(body);
      return false;
    });
    decoder.push(Buffer.concat([PONG, PONG]));
    assert.equal(bodies.length, 1);
  });
});

describe("the codec", () => {
  const table: [number, string][] = [
    [0, "00"],
    [1, "01"],
    [127, "7f"],
    [128, "8001"],
    [300, "ac02"],
    [16383, "ff7f"],
    [16384, "808001"],
    [2097151, "ffff7f"],
    [2097152, "80808001"],
    [268435455, "ffffff7f"],
    [268435456, "8080808001"],
    [4294967295, "ffffffff0f"],
  ];
  for (const [value, encoded] of table) {
    test(`encodes the varint ${value} as in the protocol's table`, () => {
      assert.equal(varint(value).toString("hex"), encoded);
    });
  }

  test("round-trips a u64 updated_at beyond 32 bits", () => {
    const response = {
      id: 1,
      type: "List" as const,
      secrets: [
        { name: "A", version: 4294967295, updatedAt: 2 ** 53 - 1 },
      ],
    };
    assert.deepEqual(decodeResponse(encodeResponse(response)), response);
  });

  test("the Get fast path matches the general encoder", () => {
    for (const id of [1, 127, 128, 16384, 4294967295]) {
      const general = frame(encodeRequest({ id, type: "Get", name: "OPENAI_API_KEY" }));
      assert.ok(encodeGetFrame(id, "OPENAI_API_KEY").equals(general));
      const long = "A".repeat(128);
      assert.ok(
        encodeGetFrame(id, long).equals(frame(encodeRequest({ id, type: "Get", name: long }))),
      );
    }
  });

  test("the text fast path matches the general encoder", () => {
    const text = "log: ключ=sk-1 🌍\n\t\0end".repeat(1000);
    assert.ok(
      encodeTextFrame(9, 4, text).equals(frame(encodeRequest({ id: 9, type: "Redact", text }))),
    );
    assert.ok(
      encodeTextFrame(300, 3, "").equals(
        frame(encodeRequest({ id: 300, type: "Render", template: "" })),
      ),
    );
  });

  test("a request of the limit fits in one frame", () => {
    const text = "r".repeat(MAX_REQUEST_FRAME - 5);
    assert.equal(encodeTextFrame(1, 4, text).length, 4 + MAX_REQUEST_FRAME);
  });
});
