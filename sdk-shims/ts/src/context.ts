/** `AxiomContext`: node code's handle on the execution, and `ax.secrets` over the sidecar. */

import { inspect } from "node:util";

import { SidecarClient, type ClientOptions } from "./client";
import * as errors from "./errors";
import { RequestTooLargeError } from "./errors";
import { FRAME_HEADER_LEN, MAX_REQUEST_FRAME } from "./limits";
import type { Response } from "./messages";
import { isValidName } from "./names";
import {
  Redacted,
  Rendered,
  type AxiomContextLike,
  type GetResult,
  type SecretInfo,
  type SecretsApi,
} from "./results";
import { checkName, checkText } from "./strings";
import { encodeGetFrame, encodeTextFrame, textBodyLength, writeVarint, varintLength } from "./wire";

const RENDER_TAG = 3;
const REDACT_TAG = 4;
const LIST_TAG = 2;

/** The frame of a request with no fields (`List`). */
function bareFrame(id: number, tag: number): Buffer {
  const bodyLength = varintLength(id) + 1;
  const out = Buffer.allocUnsafe(FRAME_HEADER_LEN + bodyLength);
  out.writeUInt32BE(bodyLength, 0);
  out[writeVarint(out, FRAME_HEADER_LEN, id)] = tag;
  return out;
}

/**
 * `ax.secrets` backed by the execution's sidecar. Every method rejects with
 * {@link errors.SecretsUnavailableError} when the sidecar cannot be asked; a missing secret
 * never rejects. Many calls may be in flight at once: they share one connection.
 */
export class Secrets implements SecretsApi {
  readonly #client: SidecarClient;

  /** Made by {@link AxiomContext}; not meant to be built by hand. */
  constructor(client: SidecarClient) {
    this.#client = client;
  }

  /**
   * The secret's value: `[value, true]`, or `["", false]` when there is none. An empty value
   * is found: `["", true]`. A string that is not a valid name is not found and is never sent.
   */
  get(name: string): Promise<GetResult> {
    try {
      checkName(name);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!isValidName(name)) {
      return Promise.resolve(["", false]);
    }
    const client = this.#client;
    const id = client.takeId();
    return client.call("Get", "Secret", id, encodeGetFrame(id, name), secretResult);
  }

  /** Whether a secret of that name exists (asked with `Get`). */
  async exists(name: string): Promise<boolean> {
    const [, found] = await this.get(name);
    return found;
  }

  /**
   * Expands each `{{secrets.NAME}}` in `template`, on the sidecar. References to missing
   * secrets stay as written; `missing` names them once each, in order of first appearance.
   * Rejects with `RequestTooLargeError` (nothing sent) when the request would pass 1 MiB.
   */
  render(template: string): Promise<Rendered> {
    return this.#text("Render", RENDER_TAG, template, "template", toRendered);
  }

  /**
   * Replaces every secret value in `text`, and its common encodings, by `***`; `found` names
   * the secrets found, sorted, each once. Rejects with `RequestTooLargeError` (nothing sent)
   * when the request would pass 1 MiB.
   */
  redact(text: string): Promise<Redacted> {
    return this.#text("Redact", REDACT_TAG, text, "text", toRedacted);
  }

  /** The metadata of every secret, sorted by name; never a value. */
  list(): Promise<SecretInfo[]> {
    const client = this.#client;
    const id = client.takeId();
    return client.call("List", "List", id, bareFrame(id, LIST_TAG), toInfos);
  }

  toJSON(): { socket: string | null } {
    return { socket: this.#client.socketPath ?? null };
  }

  [inspect.custom](): string {
    return `Secrets { socket: ${inspect(this.#client.socketPath ?? null)} }`;
  }

  #text<T>(
    kind: "Render" | "Redact",
    tag: number,
    text: string,
    what: string,
    convert: (response: Response) => T,
  ): Promise<T> {
    try {
      checkText(text, what);
    } catch (error) {
      return Promise.reject(error);
    }
    const client = this.#client;
    const id = client.takeId();
    const size = textBodyLength(id, text);
    if (size > MAX_REQUEST_FRAME) {
      const message = errors.requestTooLarge(kind, size, MAX_REQUEST_FRAME);
      return Promise.reject(new RequestTooLargeError(message));
    }
    const expect = kind === "Render" ? "Rendered" : "Redacted";
    return client.call(kind, expect, id, encodeTextFrame(id, tag, text), convert);
  }
}

function secretResult(response: Response): GetResult {
  if (response.type !== "Secret") {
    return unreachable();
  }
  const value = response.value;
  return value === null ? ["", false] : [value, true];
}

function toRendered(response: Response): Rendered {
  return response.type === "Rendered"
    ? new Rendered(response.text, response.missing)
    : unreachable();
}

function toRedacted(response: Response): Redacted {
  return response.type === "Redacted" ? new Redacted(response.text, response.found) : unreachable();
}

function toInfos(response: Response): SecretInfo[] {
  if (response.type !== "List") {
    return unreachable();
  }
  return response.secrets.map((i) => ({
    name: i.name,
    version: i.version,
    updatedAt: i.updatedAt,
  }));
}

function unreachable(): never {
  // The client checks every answer's kind before resolving.
  throw new Error("ax-secrets: internal error: an answer of the wrong kind was accepted");
}

/** How an {@link AxiomContext} is configured; every field is optional. */
export type AxiomContextOptions = ClientOptions;

/**
 * The execution context node code receives as `ax`.
 *
 * Connects lazily, on the first call, to the sidecar at `$AX_SECRETS_SOCKET` with the token in
 * `$AX_SECRETS_TOKEN` (the options override both), then reuses that connection for every call.
 * The socket does not keep the process alive while no call is in flight.
 */
export class AxiomContext implements AxiomContextLike {
  /** The secrets of this execution. */
  readonly secrets: Secrets;
  readonly #client: SidecarClient;

  constructor(options: AxiomContextOptions = {}) {
    this.#client = new SidecarClient(options);
    this.secrets = new Secrets(this.#client);
  }

  /** Closes the connection to the sidecar; calls in flight reject, a later call reconnects. */
  close(): Promise<void> {
    return this.#client.close();
  }

  toJSON(): { socket: string | null } {
    return { socket: this.#client.socketPath ?? null };
  }

  toString(): string {
    return `AxiomContext { socket: ${JSON.stringify(this.#client.socketPath ?? null)} }`;
  }

  [inspect.custom](): string {
    return `AxiomContext { socket: ${inspect(this.#client.socketPath ?? null)} }`;
  }
}
