"""The forms a secret value commonly leaks in (PROTOCOL §8.4), as the sidecar computes them."""

from __future__ import annotations

import base64
from typing import List

_JSON_SHORT = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\b": "\\b",
    "\f": "\\f",
}
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def forms(value: str) -> List[str]:
    """Every form of ``value`` that is redacted, duplicates included.

    The UTF-8 value itself; base64 and base64url, padded and unpadded; JSON-string escaped with
    non-ASCII kept and with it as ``\\uXXXX``; percent-encoded; then what common libraries
    print (PROTOCOL §8.4, items 6 to 11, in that order).
    """
    data = value.encode("utf-8")
    std = base64.b64encode(data).decode("ascii")
    url = base64.urlsafe_b64encode(data).decode("ascii")
    return [
        value,
        std,
        std.rstrip("="),
        url,
        url.rstrip("="),
        json_escaped(value, ascii_only=False),
        json_escaped(value, ascii_only=True),
        percent_encoded(data),
        json_styled(value, "html"),
        json_styled(value, "gson"),
        json_styled(value, "dotnet"),
        json_styled(value, "upper"),
        python_repr_str(value),
        python_repr_bytes(data),
        go_quoted(value),
        url_escaped(data, "-_.~", plus=True, lower=False),
        url_escaped(data, "-_.*", plus=True, lower=False),
        url_escaped(data, "-_.~/", plus=False, lower=False),
        url_escaped(data, "-_.~$&+:=@", plus=False, lower=False),
        url_escaped(data, "-_.!~*'()", plus=False, lower=False),
        url_escaped(data, "-_.~", plus=False, lower=True),
        url_escaped(data, "-_.!*()", plus=True, lower=True),
        url_escaped(data, "-_.!*()", plus=True, lower=False),
    ]


_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_JSON_ESCAPED = {
    "html": frozenset("<>&\u2028\u2029"),
    "gson": frozenset("<>&='\u2028\u2029"),
    "dotnet": frozenset("\"&'+<>`\x7f"),
    "upper": frozenset(),
}


def _units(c: str, upper: bool) -> str:
    code = ord(c)
    units = [code] if code <= 0xFFFF else [0xD800 | (code - 0x10000) >> 10, 0xDC00 | (code - 0x10000) & 0x3FF]
    return "".join(f"\\u{u:04X}" if upper else f"\\u{u:04x}" for u in units)


def json_styled(value: str, style: str) -> str:
    """``value`` between the quotes of a JSON string as Go (``html``), Gson, .NET's
    System.Text.Json (``dotnet``) or Jackson (``upper``) writes it (PROTOCOL §8.4 item 6)."""
    upper = style in ("dotnet", "upper")
    escaped = _JSON_ESCAPED[style]
    out: List[str] = []
    for c in value:
        if c in escaped or (style == "dotnet" and ord(c) > 0x7F):
            out.append(_units(c, upper))
        elif c in _JSON_SHORT:
            out.append(_JSON_SHORT[c])
        elif ord(c) < 0x20:
            out.append(_units(c, upper))
        else:
            out.append(c)
    return "".join(out)


def _unprintable(code: int) -> bool:
    """The non-ASCII characters ``repr`` and Go's ``%q`` escape that §8.4 knows."""
    return 0x80 <= code <= 0xA0 or code in (0xAD, 0x2028, 0x2029)


def _python_quote(has_single: bool, has_double: bool) -> str:
    return '"' if has_single and not has_double else "'"


def python_repr_str(value: str) -> str:
    """Between the quotes of Python's ``repr()`` of a ``str`` (§8.4 item 7)."""
    quote = _python_quote("'" in value, '"' in value)
    out: List[str] = []
    for c in value:
        code = ord(c)
        if c in "\\\n\r\t":
            out.append({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[c])
        elif c == quote:
            out.append("\\" + c)
        elif code < 0x20 or code == 0x7F or (_unprintable(code) and code < 0x100):
            out.append(f"\\x{code:02x}")
        elif _unprintable(code):
            out.append(f"\\u{code:04x}")
        else:
            out.append(c)
    return "".join(out)


def python_repr_bytes(data: bytes) -> str:
    """Between the quotes of Python's ``repr()`` of ``bytes`` (§8.4 item 8)."""
    quote = ord(_python_quote(b"'" in data, b'"' in data))
    out: List[str] = []
    for b in data:
        if b in b"\\\n\r\t":
            out.append({0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}[b])
        elif b == quote:
            out.append("\\" + chr(b))
        elif 0x20 <= b <= 0x7E:
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02x}")
    return "".join(out)


_GO_SHORT = {
    '"': '\\"',
    "\\": "\\\\",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def go_quoted(value: str) -> str:
    """Between the quotes of Go's ``strconv.Quote`` / ``%q`` (§8.4 item 9)."""
    out: List[str] = []
    for c in value:
        code = ord(c)
        if c in _GO_SHORT:
            out.append(_GO_SHORT[c])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif _unprintable(code):
            out.append(f"\\u{code:04x}")
        else:
            out.append(c)
    return "".join(out)


def url_escaped(data: bytes, kept: str, plus: bool, lower: bool) -> str:
    """Percent-encoding keeping letters, digits and ``kept``; a space as ``+`` if ``plus``; hex
    in lower case if ``lower`` (§8.4 items 10 and 11)."""
    keep = _ALNUM | frozenset(kept.encode("ascii"))
    hexfmt = "%{:02x}" if lower else "%{:02X}"
    return "".join(
        chr(b) if b in keep else "+" if plus and b == 0x20 else hexfmt.format(b) for b in data
    )


def json_escaped(value: str, ascii_only: bool) -> str:
    """``value`` as it appears between the quotes of a JSON string.

    ``"`` and ``\\`` are escaped, control characters below U+0020 as ``\\n``, ``\\t``, ``\\r``,
    ``\\b``, ``\\f`` or ``\\u00xx``; with ``ascii_only`` every non-ASCII character becomes
    ``\\uxxxx`` (lower-case hex, a surrogate pair above U+FFFF). DEL stays as it is, unlike in
    Python's own ``json.dumps``.
    """
    out: List[str] = []
    for c in value:
        code = ord(c)
        short = _JSON_SHORT.get(c)
        if short is not None:
            out.append(short)
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif ascii_only and code > 0x7F:
            if code > 0xFFFF:
                code -= 0x10000
                out.append(f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(c)
    return "".join(out)


def percent_encoded(data: bytes) -> str:
    """RFC 3986 percent-encoding: every byte outside ``A-Z a-z 0-9 - . _ ~`` as ``%XX``."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in data)
