"""``{{secrets.NAME}}`` templates (PROTOCOL §8.3), as the sidecar renders them.

A reference is ``{{``, optional whitespace (space, tab, CR, LF), ``secrets.``, a valid name,
optional whitespace, ``}}``. Anything else is literal text; there is no escape syntax. At each
``{{`` that does not start a reference, the first ``{`` is text and scanning goes on at the next
character, so ``{{{secrets.A}}}`` is ``{``, a reference, ``}``. Rendering is one pass: a value
containing ``{{secrets.X}}`` is inserted as it is, never expanded.
"""

from __future__ import annotations

import re
from typing import Callable, List, NamedTuple, Optional, Tuple, Union

from .limits import MAX_NAME_LEN

# The name group is greedy and must be followed by whitespace or `}}`, so it is always the
# longest run of name characters (backtracking into it can never succeed).
_REFERENCE = re.compile(r"\{\{[ \t\r\n]*secrets\.([A-Za-z][A-Za-z0-9_]*)[ \t\r\n]*\}\}")


class Text(NamedTuple):
    """Literal text of a template."""

    text: str


class Reference(NamedTuple):
    """A reference to a secret: its name, and the whole reference as written."""

    name: str
    raw: str


Segment = Union[Text, Reference]


def segments(template: str) -> List[Segment]:
    """Splits ``template`` into text and references, in order, adjacent text joined."""
    out: List[Segment] = []
    text_start = 0
    search = 0
    while True:
        match = _REFERENCE.search(template, search)
        if match is None:
            break
        start, end = match.span()
        if len(match.group(1)) > MAX_NAME_LEN:
            search = start + 1
            continue
        if start > text_start:
            out.append(Text(template[text_start:start]))
        out.append(Reference(match.group(1), match.group(0)))
        text_start = search = end
    if text_start < len(template):
        out.append(Text(template[text_start:]))
    return out


def render(template: str, lookup: Callable[[str], Optional[str]]) -> Tuple[str, List[str]]:
    """Renders ``template``, resolving each name with ``lookup``.

    Returns the text and the names ``lookup`` did not know, each once, in order of first
    appearance. A reference to a missing name stays exactly as written.
    """
    parts: List[str] = []
    missing: List[str] = []
    for segment in segments(template):
        if isinstance(segment, Text):
            parts.append(segment.text)
            continue
        value = lookup(segment.name)
        if value is None:
            parts.append(segment.raw)
            if segment.name not in missing:
                missing.append(segment.name)
        else:
            parts.append(value)
    return "".join(parts), missing
