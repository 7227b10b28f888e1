/** The forms a secret value commonly leaks in (PROTOCOL §8.4), as the sidecar computes them. */

const JSON_SHORT: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\t": "\\t",
  "\r": "\\r",
  "\b": "\\b",
  "\f": "\\f",
};

function hex4(unit: number): string {
  return "\\u" + unit.toString(16).padStart(4, "0");
}

/**
 * Every form of `value` that is redacted, duplicates included, in the order of PROTOCOL §8.4:
 * the value itself; base64 and base64url, padded and unpadded; JSON-string escaped with
 * non-ASCII kept and with it as `\uXXXX`; percent-encoded.
 */
export function forms(value: string): string[] {
  const data = Buffer.from(value, "utf8");
  const std = data.toString("base64");
  const url = std.replace(/\+/g, "-").replace(/\//g, "_");
  return [
    value,
    std,
    std.replace(/=+$/, ""),
    url,
    url.replace(/=+$/, ""),
    jsonEscaped(value, false),
    jsonEscaped(value, true),
    percentEncoded(data),
  ];
}

/**
 * `value` as it appears between the quotes of a JSON string.
 *
 * `"` and `\` are escaped, control characters below U+0020 as `\n`, `\t`, `\r`, `\b`, `\f` or
 * `\u00xx`; with `asciiOnly` every non-ASCII character becomes `\uxxxx` (lower-case hex, a
 * surrogate pair above U+FFFF). DEL stays as it is.
 */
export function jsonEscaped(value: string, asciiOnly: boolean): string {
  let out = "";
  for (const c of value) {
    const short = JSON_SHORT[c];
    const code = c.codePointAt(0)!;
    if (short !== undefined) {
      out += short;
    } else if (code < 0x20) {
      out += hex4(code);
    } else if (asciiOnly && code > 0x7f) {
      if (code > 0xffff) {
        const offset = code - 0x10000;
        out += hex4(0xd800 | (offset >> 10)) + hex4(0xdc00 | (offset & 0x3ff));
      } else {
        out += hex4(code);
      }
    } else {
      out += c;
    }
  }
  return out;
}

const HEX = "0123456789ABCDEF";

function isUnreserved(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) || // A-Z
    (b >= 0x61 && b <= 0x7a) || // a-z
    (b >= 0x30 && b <= 0x39) || // 0-9
    b === 0x2d || // -
    b === 0x2e || // .
    b === 0x5f || // _
    b === 0x7e // ~
  );
}

/** RFC 3986 percent-encoding: every byte outside `A-Z a-z 0-9 - . _ ~` as `%XX`. */
export function percentEncoded(data: Uint8Array): string {
  let out = "";
  for (const b of data) {
    out += isUnreserved(b) ? String.fromCharCode(b) : "%" + HEX[b >> 4]! + HEX[b & 0xf]!;
  }
  return out;
}
