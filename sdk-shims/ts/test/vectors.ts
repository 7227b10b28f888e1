/**
 * Loads the shared vectors of protocol/vectors/ with the strict key checks of PROTOCOL §10.2,
 * and converts messages to and from their canonical JSON.
 */

import { readFileSync } from "node:fs";
import * as path from "node:path";

import type { Request, Response } from "../src/messages";
import { workspaceRoot } from "./sidecar";

export const VECTORS = path.join(workspaceRoot(), "protocol", "vectors");
export const MESSAGE_FILES = [
  "requests.json",
  "requests-large.json",
  "responses.json",
  "responses-large.json",
];
const FILE_KEYS = ["schema", "area", "description", "numberOfTests", "tests"];
const MESSAGE_FILE_KEYS = [...FILE_KEYS, "direction", "limit"];
const TEST_KEYS = ["id", "comment", "flags", "hex", "value", "result", "error"];
const SCHEMAS: Readonly<Record<string, string[]>> = {
  "ax-protocol/messages/v2": MESSAGE_FILE_KEYS,
  "ax-protocol/names/v1": FILE_KEYS,
  "ax-protocol/templates/v1": FILE_KEYS,
  "ax-protocol/bundles/v1": FILE_KEYS,
  "ax-protocol/redaction/v1": FILE_KEYS,
};

/** A JSON value, as parsed. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One vector of a file. */
export interface Vector {
  readonly id: number;
  readonly comment: string;
  readonly flags: string[];
  readonly hex: string;
  readonly value: Json;
  readonly result: "valid" | "invalid";
  readonly error: string | null;
}

/** One vector file. */
export interface VectorFile {
  readonly schema: string;
  readonly direction?: "request" | "response";
  readonly limit?: number;
  readonly numberOfTests: number;
  readonly tests: Vector[];
}

/** A vector file breaks the format of PROTOCOL §10.2. */
export class VectorFileError extends Error {}

/** Whether `object`'s keys are exactly `keys`. */
export function hasExactly(object: object, keys: readonly string[]): boolean {
  const own = Object.keys(object).sort();
  const want = [...keys].sort();
  return own.length === want.length && own.every((k, i) => k === want[i]);
}

/** Checks a parsed vector file's keys and test keys; throws on anything unknown. */
export function checkFile(name: string, data: unknown): VectorFile {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new VectorFileError(`${name}: not a JSON object`);
  }
  const file = data as Record<string, unknown>;
  const expected = SCHEMAS[String(file["schema"])];
  if (expected === undefined) {
    throw new VectorFileError(`${name}: unknown schema ${JSON.stringify(file["schema"])}`);
  }
  if (!hasExactly(file, expected)) {
    throw new VectorFileError(
      `${name}: keys ${Object.keys(file).sort().join(",")} are not ${expected.join(",")}`,
    );
  }
  const tests = file["tests"] as Record<string, unknown>[];
  if (file["numberOfTests"] !== tests.length) {
    throw new VectorFileError(`${name}: numberOfTests is not the number of tests`);
  }
  const seen = new Set<unknown>();
  for (const test of tests) {
    const where = `${name}#${String(test["id"])}`;
    if (!hasExactly(test, TEST_KEYS)) {
      throw new VectorFileError(`${where}: keys ${Object.keys(test).sort().join(",")}`);
    }
    if (test["result"] !== "valid" && test["result"] !== "invalid") {
      throw new VectorFileError(`${where}: result ${JSON.stringify(test["result"])}`);
    }
    if ((test["error"] === null) !== (test["result"] === "valid")) {
      throw new VectorFileError(`${where}: error does not fit result`);
    }
    if (seen.has(test["id"])) {
      throw new VectorFileError(`${where}: id repeated`);
    }
    seen.add(test["id"]);
  }
  return data as VectorFile;
}

/** Loads and checks one file of protocol/vectors/. */
export function load(name: string): VectorFile {
  return checkFile(name, JSON.parse(readFileSync(path.join(VECTORS, name), "utf8")));
}

/** Canonical JSON field names (PROTOCOL §3) of the shim's camelCase fields. */
const TO_WIRE: Readonly<Record<string, string>> = {
  executionId: "execution_id",
  updatedAt: "updated_at",
};
const FROM_WIRE: Readonly<Record<string, string>> = {
  execution_id: "executionId",
  updated_at: "updatedAt",
};

function renameKeys(value: unknown, names: Readonly<Record<string, string>>): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => renameKeys(item, names));
  }
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [names[k] ?? k, renameKeys(v, names)]),
    );
  }
  return value;
}

/** The canonical JSON of a decoded message. */
export function toJson(message: Request | Response): Json {
  return renameKeys(message, TO_WIRE) as Json;
}

/** Fields each message type has besides `id` and `type`, in canonical JSON. */
const REQUEST_FIELDS: Readonly<Record<string, string[]>> = {
  Hello: ["version", "client", "token"],
  Get: ["name"],
  List: [],
  Render: ["template"],
  Redact: ["text"],
  Ping: [],
};
const RESPONSE_FIELDS: Readonly<Record<string, string[]>> = {
  Hello: ["version", "sidecar", "execution_id"],
  Secret: ["value"],
  List: ["secrets"],
  Rendered: ["text", "missing"],
  Redacted: ["text", "found"],
  Pong: [],
  Error: ["code", "message"],
};
const SECRET_INFO_FIELDS = ["name", "version", "updated_at"];

/** The message a canonical JSON object stands for; throws on unknown or missing fields. */
export function fromJson(direction: "request" | "response", value: Json): Request | Response {
  const object = value as Record<string, Json>;
  const fields = (direction === "request" ? REQUEST_FIELDS : RESPONSE_FIELDS)[
    String(object["type"])
  ];
  if (fields === undefined || !hasExactly(object, ["id", "type", ...fields])) {
    throw new VectorFileError(
      `fields ${Object.keys(object).join(",")} do not fit ${String(object["type"])}`,
    );
  }
  for (const info of (object["secrets"] ?? []) as Record<string, Json>[]) {
    if (!hasExactly(info, SECRET_INFO_FIELDS)) {
      throw new VectorFileError(`SecretInfo fields ${Object.keys(info).join(",")}`);
    }
  }
  return renameKeys(object, FROM_WIRE) as Request | Response;
}
