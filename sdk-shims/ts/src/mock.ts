/**
 * `MockAxiomContext`: the secrets API over an in-memory map, for node authors' unit tests.
 *
 * It answers exactly as a sidecar serving those values would: the same name rule, the same
 * template rules (PROTOCOL §8.3) and the same redaction forms and matching (§8.4). `list`
 * reports every secret as version 1, updated at 0.
 */

import { inspect } from "node:util";

import * as errors from "./errors";
import { isValidName, nameProblem } from "./names";
import { Redactor } from "./redact";
import {
  Redacted,
  Rendered,
  type AxiomContextLike,
  type GetResult,
  type SecretInfo,
  type SecretsApi,
} from "./results";
import { checkName, checkText } from "./strings";
import { render } from "./template";

/** A map of names to values: a plain object or a `Map`. */
export type SecretsMap = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

/** How a {@link MockAxiomContext} is made. */
export interface MockOptions {
  /** The secrets the mock serves, by name (effective values: overrides already applied). */
  readonly secretsMap?: SecretsMap | undefined;
}

/** `ax.secrets` over a fixed map of names to values. */
export class MockSecrets implements SecretsApi {
  readonly #values: ReadonlyMap<string, string>;
  #redactor: Redactor | null = null;

  /**
   * @throws TypeError when a key is not a valid secret name or a value is not a well-formed
   *   string (the message never shows the key: a string that is not a name may be a value).
   */
  constructor(secretsMap: SecretsMap = {}) {
    const entries: Iterable<[string, unknown]> =
      secretsMap instanceof Map ? secretsMap.entries() : Object.entries(secretsMap);
    const values = new Map<string, string>();
    for (const [name, value] of entries) {
      const problem = nameProblem(String(name));
      if (problem !== null) {
        throw new TypeError(errors.MOCK_BAD_KEY(problem));
      }
      try {
        checkText(value, "value");
      } catch {
        throw new TypeError(errors.MOCK_BAD_VALUE);
      }
      values.set(name, value);
    }
    this.#values = values;
  }

  /** `[value, true]`, or `["", false]` when the map has no such (valid) name. */
  async get(name: string): Promise<GetResult> {
    checkName(name);
    const value = isValidName(name) ? this.#values.get(name) : undefined;
    return value === undefined ? ["", false] : [value, true];
  }

  /** Whether the map has a secret of that name. */
  async exists(name: string): Promise<boolean> {
    const [, found] = await this.get(name);
    return found;
  }

  /** Every name, sorted, as version 1, updated at 0. */
  async list(): Promise<SecretInfo[]> {
    return [...this.#values.keys()]
      .sort()
      .map((name) => ({ name, version: 1, updatedAt: 0 }));
  }

  /** Expands `{{secrets.NAME}}` references as the sidecar does. */
  async render(template: string): Promise<Rendered> {
    checkText(template, "template");
    const { text, missing } = render(template, (name) => this.#values.get(name));
    return new Rendered(text, missing);
  }

  /** Replaces every value, and its encodings, by `***`, as the sidecar does. */
  async redact(text: string): Promise<Redacted> {
    checkText(text, "text");
    // Built on first use, like the sidecar's.
    this.#redactor ??= new Redactor(this.#values);
    const redacted = this.#redactor.redact(text);
    return new Redacted(redacted.text, redacted.found);
  }

  toJSON(): { names: string[] } {
    return { names: [...this.#values.keys()].sort() };
  }

  [inspect.custom](): string {
    return `MockSecrets { names: ${inspect([...this.#values.keys()].sort())} }`;
  }
}

/**
 * A stand-in for {@link AxiomContext} in tests: no sidecar, no socket.
 *
 * ```ts
 * const ax = new MockAxiomContext({ secretsMap: { GREETER_SIGNATURE: "test-sig" } });
 * await ax.secrets.get("GREETER_SIGNATURE"); // ["test-sig", true]
 * await ax.secrets.get("MISSING");           // ["", false]
 * ```
 */
export class MockAxiomContext implements AxiomContextLike {
  /** The mock's secrets. */
  readonly secrets: MockSecrets;

  constructor(options: MockOptions = {}) {
    this.secrets = new MockSecrets(options.secretsMap);
  }

  /** Does nothing (there is no connection). */
  async close(): Promise<void> {}

  toJSON(): { mock: true } {
    return { mock: true };
  }

  toString(): string {
    return "MockAxiomContext {}";
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
