/**
 * `{{secrets.NAME}}` templates (PROTOCOL §8.3), as the sidecar renders them.
 *
 * A reference is `{{`, optional whitespace (space, tab, CR, LF), `secrets.`, a valid name,
 * optional whitespace, `}}`. Anything else is literal text; there is no escape syntax. At each
 * `{{` that does not start a reference, the first `{` is text and scanning goes on at the next
 * character, so `{{{secrets.A}}}` is `{`, a reference, `}`. Rendering is one pass: a value
 * containing `{{secrets.X}}` is inserted as it is, never expanded.
 */

import { MAX_NAME_LEN } from "./limits";

// The name group is greedy and must be followed by whitespace or `}}`, so it is always the
// longest run of name characters (backtracking into it can never succeed).
const REFERENCE = /\{\{[ \t\r\n]*secrets\.([A-Za-z][A-Za-z0-9_]*)[ \t\r\n]*\}\}/g;

/** Literal text of a template. */
export interface TextSegment {
  readonly text: string;
}

/** A reference to a secret: its name, and the whole reference as written. */
export interface ReferenceSegment {
  readonly reference: string;
  readonly raw: string;
}

/** One piece of a template. */
export type Segment = TextSegment | ReferenceSegment;

/** Splits `template` into text and references, in order, adjacent text joined. */
export function segments(template: string): Segment[] {
  const out: Segment[] = [];
  const pattern = new RegExp(REFERENCE);
  let textStart = 0;
  for (;;) {
    const match = pattern.exec(template);
    if (match === null) {
      break;
    }
    const start = match.index;
    const name = match[1]!;
    if (name.length > MAX_NAME_LEN) {
      pattern.lastIndex = start + 1;
      continue;
    }
    if (start > textStart) {
      out.push({ text: template.slice(textStart, start) });
    }
    out.push({ reference: name, raw: match[0] });
    textStart = pattern.lastIndex;
  }
  if (textStart < template.length) {
    out.push({ text: template.slice(textStart) });
  }
  return out;
}

/**
 * Renders `template`, resolving each name with `lookup`.
 *
 * Returns the text and the names `lookup` did not know (`undefined`), each once, in order of
 * first appearance. A reference to a missing name stays exactly as written.
 */
export function render(
  template: string,
  lookup: (name: string) => string | undefined,
): { text: string; missing: string[] } {
  let text = "";
  const missing: string[] = [];
  for (const segment of segments(template)) {
    if ("text" in segment) {
      text += segment.text;
      continue;
    }
    const value = lookup(segment.reference);
    if (value === undefined) {
      text += segment.raw;
      if (!missing.includes(segment.reference)) {
        missing.push(segment.reference);
      }
    } else {
      text += value;
    }
  }
  return { text, missing };
}
