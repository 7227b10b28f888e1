/**
 * The secret-name rule (PROTOCOL §8.1): `^[A-Za-z][A-Za-z0-9_]{0,127}$`, case-sensitive.
 *
 * A string that breaks the rule is "not found" without a round trip: it may be a value pasted
 * by mistake, and it never leaves the process.
 */

import { MAX_NAME_LEN } from "./limits";

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;
const LETTER = /^[A-Za-z]/;
const NAME_CHARS = /^[A-Za-z0-9_]*$/;

/** What is wrong with a name, as `names.json` calls it. */
export type NameProblem = "Empty" | "TooLong" | "BadFirstCharacter" | "BadCharacter";

/** Whether `name` is a valid secret name. */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}

/**
 * What is wrong with `name`, or `null` when it is valid: checked in the order `Empty`,
 * `TooLong` (over 128 UTF-8 bytes), `BadFirstCharacter`, `BadCharacter`, as the reference
 * implementation does.
 */
export function nameProblem(name: string): NameProblem | null {
  if (name.length === 0) {
    return "Empty";
  }
  if (Buffer.byteLength(name, "utf8") > MAX_NAME_LEN) {
    return "TooLong";
  }
  if (!LETTER.test(name)) {
    return "BadFirstCharacter";
  }
  if (!NAME_CHARS.test(name)) {
    return "BadCharacter";
  }
  return null;
}
