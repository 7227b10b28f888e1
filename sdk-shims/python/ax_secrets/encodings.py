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
    non-ASCII kept and with it as ``\\uXXXX``; percent-encoded.
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
    ]


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
