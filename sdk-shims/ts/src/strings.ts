/** Checks on the strings node code hands the shim, shared by the client and the mock. */

import * as errors from "./errors";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Throws a `TypeError` unless `value` is a string of well-formed Unicode: a lone surrogate has
 * no UTF-8 form, and silently replacing it would change the text. The message says where, never
 * what.
 */
export function checkText(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(errors.notAString(what, value));
  }
  const at = value.search(LONE_SURROGATE);
  if (at !== -1) {
    throw new TypeError(errors.notWellFormed(what, at));
  }
}

/** Throws a `TypeError` unless `value` is a string (a secret name). */
export function checkName(value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(errors.notAString("a secret name", value));
  }
}
