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
 * non-ASCII kept and with it as `\uXXXX`; percent-encoded; then what common libraries print
 * (§8.4 items 6 to 11, in that order).
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
    jsonStyled(value, "html"),
    jsonStyled(value, "gson"),
    jsonStyled(value, "dotnet"),
    jsonStyled(value, "upper"),
    pythonReprStr(value),
    pythonReprBytes(data),
    goQuoted(value),
    urlEscaped(data, "-_.~", true, false),
    urlEscaped(data, "-_.*", true, false),
    urlEscaped(data, "-_.~/", false, false),
    urlEscaped(data, "-_.~$&+:=@", false, false),
    urlEscaped(data, "-_.!~*'()", false, false),
    urlEscaped(data, "-_.~", false, true),
    urlEscaped(data, "-_.!*()", true, true),
    urlEscaped(data, "-_.!*()", true, false),
  ];
}

/** The JSON encoders whose output differs from `jsonEscaped`'s (§8.4 item 6). */
export type JsonStyle = "html" | "gson" | "dotnet" | "upper";

const JSON_ESCAPED: Readonly<Record<JsonStyle, string>> = {
  html: "<>&\u2028\u2029",
  gson: "<>&='\u2028\u2029",
  dotnet: "\"&'+<>`\x7f",
  upper: "",
};

function units(code: number, upper: boolean): string {
  const list = code > 0xffff ? [0xd800 | ((code - 0x10000) >> 10), 0xdc00 | ((code - 0x10000) & 0x3ff)] : [code];
  return list.map((u) => "\\u" + (upper ? u.toString(16).toUpperCase() : u.toString(16)).padStart(4, "0")).join("");
}

/** `value` between the quotes of a JSON string as Go (`html`), Gson, .NET (`dotnet`) or Jackson (`upper`) writes it. */
export function jsonStyled(value: string, style: JsonStyle): string {
  const upper = style === "dotnet" || style === "upper";
  let out = "";
  for (const c of value) {
    const code = c.codePointAt(0)!;
    const short = JSON_SHORT[c];
    if (JSON_ESCAPED[style].includes(c) || (style === "dotnet" && code > 0x7f)) {
      out += units(code, upper);
    } else if (short !== undefined) {
      out += short;
    } else if (code < 0x20) {
      out += units(code, upper);
    } else {
      out += c;
    }
  }
  return out;
}

/** The non-ASCII characters Python's `repr` and Go's `%q` escape that §8.4 knows. */
function unprintable(code: number): boolean {
  return (code >= 0x80 && code <= 0xa0) || code === 0xad || code === 0x2028 || code === 0x2029;
}

function hex2(code: number): string {
  return "\\x" + code.toString(16).padStart(2, "0");
}

function pythonQuote(hasSingle: boolean, hasDouble: boolean): string {
  return hasSingle && !hasDouble ? '"' : "'";
}

const PY_SHORT: Readonly<Record<string, string>> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** Between the quotes of Python's `repr()` of a `str` (§8.4 item 7). */
export function pythonReprStr(value: string): string {
  const quote = pythonQuote(value.includes("'"), value.includes('"'));
  let out = "";
  for (const c of value) {
    const code = c.codePointAt(0)!;
    if (PY_SHORT[c] !== undefined) {
      out += PY_SHORT[c];
    } else if (c === quote) {
      out += "\\" + c;
    } else if (code < 0x20 || code === 0x7f || (unprintable(code) && code < 0x100)) {
      out += hex2(code);
    } else if (unprintable(code)) {
      out += units(code, false);
    } else {
      out += c;
    }
  }
  return out;
}

/** Between the quotes of Python's `repr()` of `bytes` (§8.4 item 8). */
export function pythonReprBytes(data: Uint8Array): string {
  const quote = pythonQuote(data.includes(0x27), data.includes(0x22)).charCodeAt(0);
  let out = "";
  for (const b of data) {
    const c = String.fromCharCode(b);
    if (PY_SHORT[c] !== undefined) {
      out += PY_SHORT[c];
    } else if (b === quote) {
      out += "\\" + c;
    } else if (b >= 0x20 && b <= 0x7e) {
      out += c;
    } else {
      out += hex2(b);
    }
  }
  return out;
}

const GO_SHORT: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
};

/** Between the quotes of Go's `strconv.Quote` / `%q` (§8.4 item 9). */
export function goQuoted(value: string): string {
  let out = "";
  for (const c of value) {
    const code = c.codePointAt(0)!;
    if (GO_SHORT[c] !== undefined) {
      out += GO_SHORT[c];
    } else if (code < 0x20 || code === 0x7f) {
      out += hex2(code);
    } else if (unprintable(code)) {
      out += units(code, false);
    } else {
      out += c;
    }
  }
  return out;
}

/** Percent-encoding keeping ASCII letters, digits and `kept`; a space as `+` if `plus`; lower-case hex if `lower`. */
export function urlEscaped(data: Uint8Array, kept: string, plus: boolean, lower: boolean): string {
  const hex = lower ? "0123456789abcdef" : HEX;
  let out = "";
  for (const b of data) {
    const alnum = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39);
    if (alnum || kept.includes(String.fromCharCode(b))) {
      out += String.fromCharCode(b);
    } else if (plus && b === 0x20) {
      out += "+";
    } else {
      out += "%" + hex[b >> 4]! + hex[b & 0xf]!;
    }
  }
  return out;
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
