"""Typographic finish for a sanitized body: curly quotes, en-dash ranges kept on one line, table hints.

Runs on the sanitized HTML, after Markdown: it only rewrites text between tags (never inside `<code>`
or `<pre>`) and adds classes to tables, so it cannot let markup through that the sanitizer refused.
"""

from __future__ import annotations

import re

_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
_VERBATIM = frozenset(("code", "pre", "kbd", "samp"))
_TAG_NAME = re.compile(r"<(/?)([a-zA-Z0-9]+)")

# An amount: an optional currency (symbol, or a three-letter code and a space), digits, an optional
# K/M/B or % suffix. `HK$` and `CHF ` are currencies; `M1` (a level) is not an amount.
_AMOUNT = r"(?:[A-Z]{3}\s?|[A-Z]{0,2}[$£€¥₹₩₪])?\d[\d,]*(?:\.\d+)?\s?[KMBk%]?"
_RANGE = re.compile(rf"(?<![\w.,])({_AMOUNT})\s*[-–](?!-)\s*({_AMOUNT})(?![\w])")
_MONEYISH = re.compile(r"[$£€¥₹₩₪%KMBk]|^[A-Z]{3}")

# A hyphenated compound ("already-elite", "sub-millisecond"). Broken at its hyphen, text extraction
# (pdftotext, copy and paste) takes the hyphen for a soft one and joins "alreadyelite"; kept on one line
# it reads back as written. Long chains still break, so they can never push past the margin.
_COMPOUND = re.compile(r"(?<![\w-])([^\W\d_]{2,}(?:-[^\W\d_]{2,}){1,3})(?![\w-])")
COMPOUND_MAX = 24

_DOUBLE_OPEN = re.compile(r'(^|[\s(\[{—–/])"')
_SINGLE_OPEN = re.compile(r"(^|[\s(\[{—–/])'")


def _range(match: re.Match[str]) -> str:
    low, high = match.group(1).strip(), match.group(2).strip()
    # A range of amounts (money, thousands, percentages), not a date or a page span like 2024-25.
    if not (_MONEYISH.search(low) or _MONEYISH.search(high)):
        return match.group(0)
    return f'<span class="nowrap">{low}–{high}</span>'


def _quotes(text: str) -> str:
    text = _DOUBLE_OPEN.sub(lambda m: m.group(1) + "“", text)
    text = text.replace('"', "”")
    text = _SINGLE_OPEN.sub(lambda m: m.group(1) + "‘", text)
    return text.replace("'", "’")


def _compound(match: re.Match[str]) -> str:
    word = match.group(1)
    return f'<span class="nowrap">{word}</span>' if len(word) <= COMPOUND_MAX else word


def typeset_text(text: str, compounds: bool = True) -> str:
    """One run of text (no tags): curly quotes and apostrophes, amount ranges as one unbreakable unit,
    and (unless `compounds` is false, as in table cells) hyphenated compounds kept whole."""
    text = _RANGE.sub(_range, _quotes(text))
    return _COMPOUND.sub(_compound, text) if compounds else text


def typeset(html: str) -> str:
    """`html` with its text typeset (see `typeset_text`) and its tables marked for the stylesheet."""
    parts = _TAG_OR_TEXT.split(html)
    verbatim = cells = 0
    for i, part in enumerate(parts):
        if i % 2:  # a tag
            match = _TAG_NAME.match(part)
            name = match.group(2).lower() if match else ""
            step = -1 if match and match.group(1) else 1
            if name in _VERBATIM:
                verbatim = max(verbatim + step, 0)
            elif name in ("td", "th"):  # narrow columns need every break opportunity
                cells = max(cells + step, 0)
        elif part and not verbatim:
            parts[i] = typeset_text(part, compounds=not cells)
    return _mark_tables("".join(parts))


_TABLE = re.compile(r"<table>(.*?)</table>", re.S)
_ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
_CELL = re.compile(r"<(t[hd])([^>]*)>(.*?)</\1>", re.S)
_TEXT = re.compile(r"<[^>]*>")
_NUMERIC = re.compile(rf"^(?:~|≈|up to |from )?{_AMOUNT}(?:\s*[–-]\s*{_AMOUNT})?(?:\s*\(.*\))?$")
#: A cell holding nothing but one unbreakable unit (a range, see `_range`).
_WHOLE_NOWRAP = re.compile(r'<span class="nowrap">([^<]*)</span>')
_CLASS = re.compile(r'\bclass="([^"]*)"')
#: Tables with at most this many body rows are kept on one page.
SHORT_ROWS = 5


def _with_class(attrs: str, name: str) -> str:
    """A tag's attributes with `name` added to its class."""
    if _CLASS.search(attrs):
        return _CLASS.sub(lambda m: f'class="{m.group(1)} {name}"', attrs, count=1)
    return f'{attrs} class="{name}"'


def _is_numeric(cell: str) -> bool:
    text = _TEXT.sub("", cell).strip()
    if not text or text in ("—", "-") or not re.search(r"\d", text):
        return False
    return bool(_NUMERIC.match(text))


def _mark_tables(html: str) -> str:
    """Numeric columns right-aligned on tabular figures; short tables kept whole; siblings (same header
    row) laid out on the same fixed column grid so their column edges line up."""
    headers: dict[str, int] = {}
    for match in _TABLE.finditer(html):
        head = _ROW.search(match.group(1))
        if head:
            key = _TEXT.sub("", head.group(1)).strip().lower()
            headers[key] = headers.get(key, 0) + 1

    def mark(match: re.Match[str]) -> str:
        rows = _ROW.findall(match.group(1))
        if not rows:
            return match.group(0)
        cells = [_CELL.findall(row) for row in rows]
        body = [row for row in cells[1:] if row]
        width = max(len(row) for row in cells)
        numeric = set()
        for col in range(1, width):
            values = [row[col][2] for row in body if col < len(row) and _TEXT.sub("", row[col][2]).strip()]
            values = [v for v in values if _TEXT.sub("", v).strip() not in ("—", "-")]
            if values and all(_is_numeric(v) for v in values):
                numeric.add(col)

        def cell_class(row: str) -> str:
            col = -1

            def one(cell: re.Match[str]) -> str:
                nonlocal col
                col += 1
                tag, attrs, inner = cell.group(1), cell.group(2), cell.group(3)
                if col in numeric and "class=" not in attrs:
                    attrs += ' class="num"'
                whole = _WHOLE_NOWRAP.fullmatch(inner)
                if whole:  # the cell itself kept on one line: the same line, one box fewer to lay out
                    attrs, inner = _with_class(attrs, "nowrap"), whole.group(1)
                return f"<{tag}{attrs}>{inner}</{tag}>"

            return "<tr>" + _CELL.sub(one, row) + "</tr>"

        inner = _ROW.sub(lambda m: cell_class(m.group(1)), match.group(1))
        classes = []
        if len(body) <= SHORT_ROWS:
            classes.append("short")
        head_key = _TEXT.sub("", rows[0]).strip().lower()
        if headers.get(head_key, 0) > 1:
            classes.append(f"grid cols-{width}")
        attr = f' class="{" ".join(classes)}"' if classes else ""
        return f"<table{attr}>{inner}</table>"

    return _TABLE.sub(mark, html)
