/** Every shared vector of protocol/vectors/, one named sub-test each (PROTOCOL §10.2). */

import { strict as assert } from "node:assert";
import { readdirSync } from "node:fs";
import { describe, test } from "node:test";

import { FrameDecoder } from "../src/decoder";
import { WireError } from "../src/errors";
import { MockSecrets } from "../src/mock";
import { isValidName, nameProblem } from "../src/names";
import { render, segments, type Segment } from "../src/template";
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  frame,
  readFrameFromStream,
} from "../src/wire";
import type { Request, Response } from "../src/messages";
import {
  MESSAGE_FILES,
  VECTORS,
  VectorFileError,
  checkFile,
  fromJson,
  hasExactly,
  load,
  toJson,
  type Json,
  type Vector,
} from "./vectors";

type Direction = "request" | "response";

function decode(direction: Direction, body: Buffer): Request | Response {
  return direction === "request" ? decodeRequest(body) : decodeResponse(body);
}

function encode(direction: Direction, message: Request | Response): Buffer {
  return frame(
    direction === "request"
      ? encodeRequest(message as Request)
      : encodeResponse(message as Response),
  );
}

function label(file: string, vector: Vector): string {
  return `${file}#${vector.id} ${vector.comment}`;
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof WireError, `not a WireError: ${String(error)}`);
    return error.kind;
  }
  assert.fail("the vector was accepted");
}

for (const file of MESSAGE_FILES) {
  const data = load(file);
  const direction = data.direction!;
  const limit = data.limit!;
  describe(file, () => {
    for (const vector of data.tests) {
      test(label(file, vector), () => {
        const stream = Buffer.from(vector.hex, "hex");
        if (vector.result === "valid") {
          const message = decode(direction, readFrameFromStream(stream, limit));
          assert.deepEqual(toJson(message), vector.value);
          const again = encode(direction, fromJson(direction, vector.value));
          if (vector.flags.includes("NonCanonical")) {
            assert.notDeepEqual(again, stream);
            assert.deepEqual(decode(direction, readFrameFromStream(again, limit)), message);
          } else {
            assert.ok(again.equals(stream), "the re-encoding differs from hex");
          }
        } else {
          assert.equal(vector.value, null);
          const kind = refusal(() => decode(direction, readFrameFromStream(stream, limit)));
          assert.equal(kind, vector.error);
        }
      });
    }
  });
}

/** Runs a stream through the client's own decoder, cut into pieces of `piece` bytes. */
function throughDecoder(
  stream: Buffer,
  limit: number,
  piece: number,
): { bodies: Buffer[]; inFrame: boolean } {
  const bodies: Buffer[] = [];
  const decoder = new FrameDecoder(limit, (body) => {
    bodies.push(Buffer.from(body));
    return true;
  });
  for (let at = 0; at < stream.length; at += piece) {
    decoder.push(stream.subarray(at, at + piece));
  }
  return { bodies, inFrame: decoder.inFrame };
}

for (const file of ["responses.json", "responses-large.json"]) {
  const data = load(file);
  describe(`${file} through the stream decoder`, () => {
    for (const vector of data.tests) {
      test(label(file, vector), () => {
        const stream = Buffer.from(vector.hex, "hex");
        const piece = stream.length > 100_000 ? 4093 : 3;
        if (vector.error === "FrameTooLarge") {
          assert.equal(
            refusal(() => throughDecoder(stream, data.limit!, piece)),
            "FrameTooLarge",
          );
          return;
        }
        const { bodies, inFrame } = throughDecoder(stream, data.limit!, piece);
        if (vector.error === "Truncated") {
          assert.equal(bodies.length, 0);
          assert.ok(inFrame, "a cut-short frame must leave the decoder inside it");
        } else if (vector.result === "invalid") {
          assert.equal(bodies.length, 1);
          assert.equal(
            refusal(() => decodeResponse(bodies[0]!)),
            vector.error,
          );
        } else {
          assert.equal(bodies.length, 1);
          assert.ok(!inFrame);
          assert.deepEqual(toJson(decodeResponse(bodies[0]!)), vector.value);
        }
      });
    }
  });
}

describe("names.json", () => {
  const data = load("names.json");
  for (const vector of data.tests) {
    test(label("names.json", vector), () => {
      const name = vector.value as string;
      assert.equal(Buffer.from(vector.hex, "hex").toString("utf8"), name);
      assert.ok(Buffer.from(name, "utf8").equals(Buffer.from(vector.hex, "hex")));
      assert.equal(isValidName(name), vector.result === "valid");
      assert.equal(nameProblem(name), vector.error);
    });
  }
});

describe("templates.json", () => {
  const data = load("templates.json");
  for (const vector of data.tests) {
    test(label("templates.json", vector), async () => {
      const value = vector.value as Record<string, Json>;
      assert.ok(hasExactly(value, ["template", "secrets", "segments", "rendered", "missing"]));
      const template = value["template"] as string;
      assert.ok(Buffer.from(template, "utf8").equals(Buffer.from(vector.hex, "hex")));
      const expected: Segment[] = (value["segments"] as Record<string, string>[]).map((s) => {
        if (hasExactly(s, ["text"])) {
          return { text: s["text"]! };
        }
        if (hasExactly(s, ["reference", "raw"])) {
          return { reference: s["reference"]!, raw: s["raw"]! };
        }
        throw new VectorFileError(`unknown segment keys ${Object.keys(s).join(",")}`);
      });
      assert.deepEqual(segments(template), expected);
      const secrets = value["secrets"] as Record<string, string>;
      const lookup = (name: string): string | undefined =>
        Object.hasOwn(secrets, name) ? secrets[name] : undefined;
      assert.deepEqual(render(template, lookup), {
        text: value["rendered"],
        missing: value["missing"],
      });
      const rendered = await new MockSecrets(secrets).render(template);
      assert.deepEqual([rendered.text, rendered.missing], [value["rendered"], value["missing"]]);
    });
  }
});

const BUNDLE_VALUE_KEYS = [
  "format",
  "key",
  "control_plane_public_key",
  "expected_execution_id",
  "now",
  "seal_randomness",
  "signing_seed",
  "plaintext",
  "bundle",
];
const BUNDLE_KEYS = [
  "tenant",
  "execution_id",
  "environment",
  "config",
  "issued_at",
  "expires_at",
  "secrets",
  "overrides",
];
const BUNDLE_SECRET_KEYS = ["name", "value", "version", "created_at", "updated_at"];
const BUNDLE_ERRORS = [
  "BadMagic",
  "Truncated",
  "LengthMismatch",
  "BadSignature",
  "WrongExecution",
  "BadEncapsulatedKey",
  "DecryptionFailed",
  "NotYetValid",
  "Expired",
];
const MAGIC: Readonly<Record<string, string>> = {
  envelope: "ax-secrets/bundle/v1\n",
  local: "ax-secrets/local-bundle/v1\n",
};
const HEX = /^([0-9a-f]{2})*$/;

// Shims never open bundles (only the sidecar does): each vector's shape is checked with the
// same strict key rules, its cryptography is not.
describe("bundles.json", () => {
  const data = load("bundles.json");
  for (const vector of data.tests) {
    test(label("bundles.json", vector), () => {
      const sealed = Buffer.from(vector.hex, "hex");
      const value = vector.value as Record<string, Json>;
      assert.ok(hasExactly(value, BUNDLE_VALUE_KEYS), `keys ${Object.keys(value).join(",")}`);
      const magic = MAGIC[value["format"] as string];
      assert.ok(magic !== undefined, "unknown format");
      assert.equal(typeof value["now"], "number");
      assert.match(value["key"] as string, HEX);
      assert.match(value["seal_randomness"] as string, HEX);
      if (vector.error !== "BadMagic") {
        assert.equal(sealed.subarray(0, magic.length).toString("latin1"), magic);
      }
      if (vector.result === "valid") {
        assert.match(value["plaintext"] as string, HEX);
        const bundle = value["bundle"] as Record<string, Json>;
        assert.ok(hasExactly(bundle, BUNDLE_KEYS));
        const entries = [...(bundle["secrets"] as Json[]), ...(bundle["overrides"] as Json[])];
        for (const entry of entries as Record<string, Json>[]) {
          assert.ok(hasExactly(entry, BUNDLE_SECRET_KEYS));
          assert.ok(isValidName(entry["name"] as string));
        }
      } else {
        assert.equal(value["bundle"], null);
        assert.equal(value["plaintext"], null);
        assert.ok(BUNDLE_ERRORS.includes(vector.error!), `unknown refusal ${vector.error}`);
      }
    });
  }
});

/** Every vector file a test of this shim runs; a file on disk that is not here fails. */
const COVERED = [
  ...MESSAGE_FILES,
  "names.json",
  "templates.json",
  "bundles.json",
  "redaction.json",
];

describe("the vector loader", () => {
  test("covers every vector file", () => {
    const onDisk = readdirSync(VECTORS).filter((name) => name.endsWith(".json"));
    assert.deepEqual(onDisk.sort(), [...COVERED].sort());
  });

  const names = {
    schema: "ax-protocol/names/v1",
    area: "x",
    description: "x",
    numberOfTests: 0,
    tests: [],
  };

  test("refuses an unknown key at file level", () => {
    assert.throws(() => checkFile("x.json", { ...names, extra: 1 }), VectorFileError);
  });

  test("refuses an unknown key at test level", () => {
    const vector = {
      id: 1,
      comment: "",
      flags: [],
      hex: "41",
      value: "A",
      result: "valid",
      error: null,
      surprise: true,
    };
    const file = { ...names, numberOfTests: 1, tests: [vector] };
    assert.throws(() => checkFile("x.json", file), VectorFileError);
  });

  test("refuses a missing key at test level", () => {
    const vector = { id: 1, comment: "", flags: [], hex: "41", value: "A", result: "valid" };
    const file = { ...names, numberOfTests: 1, tests: [vector] };
    assert.throws(() => checkFile("x.json", file), VectorFileError);
  });

  test("refuses a wrong test count", () => {
    assert.throws(() => checkFile("x.json", { ...names, numberOfTests: 2 }), VectorFileError);
  });

  test("refuses an unknown schema", () => {
    assert.throws(() => checkFile("x.json", { ...names, schema: "ax/v9" }), VectorFileError);
  });

  test("refuses an unknown field in a message value", () => {
    assert.throws(() => fromJson("request", { id: 1, type: "Ping", extra: 1 }), VectorFileError);
  });
});
