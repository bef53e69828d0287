"""Soft break opportunities (`<wbr>`) inside very long words and URLs of sanitized HTML.

CSS `overflow-wrap: anywhere` would also keep them inside the page, but in table cells it makes
WeasyPrint measure every character as a possible line end, a third slower on table-heavy guides.
A `<wbr>` costs nothing where it is not needed and is invisible to text extraction and copy-paste.
"""

from __future__ import annotations

import re

#: Words at least this long get break opportunities; shorter ones wrap as usual.
LONG_WORD = 25
#: At most this many characters between two break opportunities in a long word.
CHUNK = 12

_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
_LONG = re.compile(rf"\S{{{LONG_WORD},}}")
_UNIT = re.compile(r"&#?\w+;|.", re.S)  # an entity is one unit: never split inside `&amp;`
_AFTER = frozenset("/.?&=_-,;:")  # good places to break a URL or a path


def _break_word(word: str) -> str:
    out: list[str] = []
    run = 0
    for unit in _UNIT.findall(word):
        out.append(unit)
        run += 1
        if unit in _AFTER or unit in ("&amp;", "&#x27;") or run >= CHUNK:
            out.append("<wbr>")
            run = 0
    text = "".join(out)
    return text.removesuffix("<wbr>")


def soft_breaks(html: str) -> str:
    """`html` with `<wbr>` inside words of `LONG_WORD` or more characters; tags are left alone."""
    if not _LONG.search(html):
        return html
    parts = _TAG_OR_TEXT.split(html)
    for i in range(0, len(parts), 2):  # even indexes are text, odd ones are tags
        if len(parts[i]) >= LONG_WORD:
            parts[i] = _LONG.sub(lambda m: _break_word(m.group(0)), parts[i])
    return "".join(parts)
