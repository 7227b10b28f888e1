/** What the secrets API returns, and the interface the real client and the mock share. */

import { inspect } from "node:util";

/**
 * Metadata of one secret; never its value. An override and a tenant value look the same: node
 * code cannot tell them apart (operators see overrides in the console).
 */
export interface SecretInfo {
  /** The secret's name. */
  readonly name: string;
  /** Counts replacements in the console (1 for the first value). */
  readonly version: number;
  /** When the current value was set, in seconds since the Unix epoch (UTC). */
  readonly updatedAt: number;
}

/**
 * What `get` resolves to: `[value, true]`, or `["", false]` when there is no such secret.
 * An empty value is found: `["", true]`.
 */
export type GetResult = [value: string, found: boolean];

/**
 * A rendered template: the text, and the names referenced but not found (in order).
 *
 * The text holds secret values, so `util.inspect`, `toString` and `JSON.stringify` of a
 * `Rendered` leave it out: read `.text` where it is meant to go.
 */
export class Rendered {
  constructor(
    /** The template with every found reference replaced by its value. */
    readonly text: string,
    /** Names referenced but not found, each once, in order of first appearance. */
    readonly missing: readonly string[],
  ) {}

  toJSON(): { text: string; missing: readonly string[] } {
    return { text: "[redacted]", missing: this.missing };
  }

  toString(): string {
    return `Rendered { text: [redacted], missing: ${JSON.stringify(this.missing)} }`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** A redacted text (every value replaced by `***`) and the names found, sorted. */
export class Redacted {
  constructor(
    /** The text with every secret value, in any of its forms, replaced by `***`. */
    readonly text: string,
    /** The names of the secrets found, each once, sorted. */
    readonly found: readonly string[],
  ) {}
}

/** `ax.secrets`: implemented by the sidecar client and by the mock alike. */
export interface SecretsApi {
  /**
   * The secret's value: `[value, true]`, or `["", false]` when there is none (or the name is
   * not a valid name). Rejects only when the sidecar cannot be asked.
   */
  get(name: string): Promise<GetResult>;
  /** Whether the secret exists. */
  exists(name: string): Promise<boolean>;
  /** Every secret's metadata, sorted by name; never a value. */
  list(): Promise<SecretInfo[]>;
  /** Expands `{{secrets.NAME}}` references. */
  render(template: string): Promise<Rendered>;
  /** Replaces every secret value, and its common encodings, by `***`. */
  redact(text: string): Promise<Redacted>;
}

/** The execution context node code receives as `ax`: the real one or the mock. */
export interface AxiomContextLike {
  readonly secrets: SecretsApi;
  /** Closes the connection to the sidecar, if any (a later call connects again). */
  close(): Promise<void>;
}
