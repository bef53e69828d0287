"""Read list nesting the way CommonMark and GitHub do, for Python-Markdown's four-space list grid.

Python-Markdown nests a list only under four spaces and never lets a list interrupt a paragraph;
people type lists right under a sentence and nest them by two or three spaces. This preprocessor
re-indents each list item's content from the column its text starts at (CommonMark's rule) onto
Python-Markdown's grid, and puts a blank line before a list that interrupts a paragraph. Fenced
code keeps its own indentation relative to the item it sits in. One pass over the lines.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown import Markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

#: A list marker (bullet, `1.` or `1)`), then spaces and text, or nothing (an empty item).
_ITEM_RE = re.compile(r"([*+-]|(\d{1,9})[.)])(?:( +)(\S.*)|[ ]*)$")
_RULE_RE = re.compile(r"([-*_])(?:[ ]*\1){2,}[ ]*$")
_FENCE_RE = re.compile(r"(`{3,}|~{3,})")
#: Lines that end a list item's paragraph instead of continuing it lazily.
_BLOCK_START_RE = re.compile(r"(#{1,6}(?:[ ]|$)|>|`{3,}|~{3,})")
#: Blocks that Python-Markdown puts after an item's text only across a blank line.
_BLOCKS = frozenset({"p", "pre", "div", "blockquote", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr"})
#: Lists nested deeper than this are an error. Python-Markdown re-reads every deeper line once per
#: level, so depth costs time by the square, and it recurses per level: 35 levels passed Python's
#: recursion limit before. Refusing here is immediate; 32 levels of 5 mm are wider than a page.
MAX_DEPTH = 32
#: Python-Markdown's indentation unit for list content.
_GRID = 4


class ListsTooDeep(RecursionError):
    """Lists nest past MAX_DEPTH. A RecursionError, because that is what Python-Markdown would end
    in: every caller of the Markdown stage already reports it as a body that nests too deeply."""


def _item(text: str) -> tuple[str, int, str] | None:
    """(marker, content offset from the marker, content) for a list item line, else None."""
    if _RULE_RE.match(text):
        return None
    match = _ITEM_RE.match(text)
    if not match:
        return None
    marker, spaces, content = match.group(1), match.group(3) or "", match.group(4) or ""
    # Five or more spaces after the marker start indented code: the text column is one space in.
    width = len(spaces) if content and len(spaces) <= 4 else 1
    # `1)` is CommonMark's other ordered marker; Python-Markdown knows only `1.`.
    return marker.replace(")", "."), len(marker) + width, content


class ListNestingPreprocessor(Preprocessor):
    """Re-indent list content onto the four-space grid; a blank line before a list under a sentence."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        columns: list[int] = []  # source column where each open item's text starts, outermost first
        kinds: list[bool] = []  # whether each open item is ordered
        fence: tuple[str, int] | None = None  # fence character and length while inside one
        blank = True  # the previous line was blank (or there was none)
        paragraph = False  # the previous line continues a top-level paragraph
        loose_block = False  # the current block began, after a blank line, with item content, not an item
        for line in lines:
            text = line.lstrip(" ")
            indent = len(line) - len(text)
            if not text:
                out.append("")
                blank, paragraph = True, False
                continue
            if fence is not None:
                out.append(self._place(line, indent, text, columns))
                if re.match(rf"{re.escape(fence[0])}{{{fence[1]},}}[ ]*$", text):
                    fence = None
                    # Text right under a closing fence starts a paragraph of its own.
                    blank, paragraph = False, not columns
                    out.append("")
                    continue
                blank = False
                continue
            level = len(columns)
            while level and indent < columns[level - 1]:
                level -= 1
            base = columns[level - 1] if level else 0
            # An item may be indented at most three spaces past the block that holds it.
            item = _item(text) if indent - base < _GRID else None
            if item is not None and paragraph and not self._interrupts(item):
                item = None  # CommonMark: only a non-empty bullet or `1.` may interrupt a paragraph
            if item is not None:
                if level >= MAX_DEPTH:
                    raise ListsTooDeep(f"lists nest more than {MAX_DEPTH} levels deep")
                marker, offset, content = item
                ordered = marker[0].isdigit()
                # An item of the other kind than its sibling above starts a new list.
                other_kind = level < len(columns) and kinds[level] != ordered
                del columns[level:], kinds[level:]
                if (not columns and paragraph) or ((loose_block or other_kind) and not blank):
                    # Python-Markdown starts a list only at the head of a block.
                    out.append("")
                    # Under an item, that blank line also needs one before the next outer item.
                    loose_block = bool(columns)
                else:
                    loose_block = False
                out.append(" " * (_GRID * len(columns)) + f"{marker} {content}".rstrip())
                columns.append(indent + offset)
                kinds.append(ordered)
                fence = self._fence(content)
                blank, paragraph = False, False
                continue
            if level < len(columns) and (blank or _BLOCK_START_RE.match(text) or _RULE_RE.match(text)):
                del columns[level:], kinds[level:]
            if columns and _item(text) is not None:
                # A lazy line that looks like an item is text: escape its marker for Python-Markdown.
                text = re.sub(r"^(\d*)", r"\1\\", text, count=1)
            code = not columns and indent >= _GRID and not paragraph
            fence = None if code else self._fence(text)
            if fence is not None and paragraph:
                out.append("")  # CommonMark: a fence may interrupt a paragraph; Python-Markdown needs a blank
            out.append(self._place(line, indent, text, columns))
            loose_block = bool(columns) and (blank or loose_block)
            paragraph = not columns and not code and not _BLOCK_START_RE.match(text)
            blank = False
        return out

    @staticmethod
    def _fence(text: str) -> tuple[str, int] | None:
        match = _FENCE_RE.match(text)
        return (match.group(1)[0], len(match.group(1))) if match else None

    @staticmethod
    def _interrupts(item: tuple[str, int, str]) -> bool:
        marker, _, content = item
        return bool(content) and (not marker[0].isdigit() or marker == "1.")

    @staticmethod
    def _place(line: str, indent: int, text: str, columns: list[int]) -> str:
        """The line re-indented under the innermost open item, or unchanged outside lists."""
        if not columns:
            return line
        return " " * (_GRID * len(columns) + max(0, indent - columns[-1])) + text


class LooseListTreeprocessor(Treeprocessor):
    """A list with a blank line between any two items is loose throughout: every item a paragraph.

    Python-Markdown wraps only the items that follow a blank line, so one list mixed two spacings.
    """

    def run(self, root: etree.Element) -> None:
        for lst in root.iter():
            if lst.tag not in ("ul", "ol"):
                continue
            items = [li for li in lst if li.tag == "li"]
            if not any(self._loose(li) for li in items):
                continue
            for li in items:
                if (li.text or "").strip():
                    paragraph = etree.Element("p")
                    paragraph.text, li.text = li.text, None
                    li.insert(0, paragraph)

    @staticmethod
    def _loose(li: etree.Element) -> bool:
        """Python-Markdown's marks of a blank line in an item: a paragraph, or text then a block."""
        if not (li.text or "").strip():
            return len(li) > 0 and li[0].tag == "p"
        return any(child.tag in _BLOCKS for child in li)


class ItemNumberTreeprocessor(Treeprocessor):
    """Each ordered item carries its number (`value`), counted from the list's `start`.

    The stylesheet prints `attr(value)`: WeasyPrint reads `<ol start>` only with presentational
    hints, which the brief does not turn on, so a list written from 3. would print from 1.
    """

    def run(self, root: etree.Element) -> None:
        for lst in root.iter("ol"):
            start = lst.get("start", "1")
            number = int(start) if start.isdigit() else 1
            for li in lst:
                if li.tag == "li":
                    li.set("value", str(number))
                    number += 1


class ListNestingExtension(Extension):
    """Register the list-nesting preprocessor after whitespace normalisation, before fenced code."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(ListNestingPreprocessor(md), "guidepdf_list_nesting", 28)
        md.treeprocessors.register(LooseListTreeprocessor(md), "guidepdf_loose_lists", 30)
        md.treeprocessors.register(ItemNumberTreeprocessor(md), "guidepdf_item_numbers", 29)
