/**
 * The redaction engine of the mock, matching the sidecar's (PROTOCOL §8.4).
 *
 * Every form of every non-empty value is matched at once, leftmost-longest, without overlaps.
 * A JavaScript regular expression takes the first alternative that matches at the leftmost
 * position, so an alternation of the literal forms sorted longest first is a leftmost-longest
 * matcher. Matching UTF-16 code units finds the same matches as the sidecar's matching of UTF-8
 * bytes: well-formed patterns can only match well-formed text at code point boundaries, and
 * of two matches at one position the longer is longer in either unit.
 */

import { forms } from "./encodings";
import { MIN_REDACTED_LEN, REDACTION_MARK } from "./limits";

const SPECIAL = /[\\^$.*+?()[\]{}|/]/g;

/** A compiled matcher for one fixed map of names to values. */
export class Redactor {
  readonly #owners: Map<string, string[]>;
  readonly #pattern: RegExp | null;

  constructor(secrets: Iterable<readonly [string, string]>) {
    const owners = new Map<string, Set<string>>();
    for (const [name, value] of secrets) {
      if (Buffer.byteLength(value, "utf8") < MIN_REDACTED_LEN) {
        continue;
      }
      for (const form of forms(value)) {
        let names = owners.get(form);
        if (names === undefined) {
          names = new Set();
          owners.set(form, names);
        }
        names.add(name);
      }
    }
    this.#owners = new Map([...owners].map(([form, names]) => [form, [...names]]));
    if (owners.size === 0) {
      this.#pattern = null;
    } else {
      const ordered = [...owners.keys()].sort((a, b) => b.length - a.length);
      this.#pattern = new RegExp(ordered.map((f) => f.replace(SPECIAL, "\\$&")).join("|"), "g");
    }
  }

  /** `text` with every match replaced by `***`, and the names found (sorted, once each). */
  redact(text: string): { text: string; found: string[] } {
    const pattern = this.#pattern;
    if (pattern === null) {
      return { text, found: [] };
    }
    const found = new Set<string>();
    const owners = this.#owners;
    const redacted = text.replace(pattern, (match) => {
      for (const name of owners.get(match)!) {
        found.add(name);
      }
      return REDACTION_MARK;
    });
    // Names are ASCII, so UTF-16 order is the sidecar's byte order.
    return { text: redacted, found: [...found].sort() };
  }
}
