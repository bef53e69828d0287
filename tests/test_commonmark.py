"""CommonMark 0.31.2 spec examples through the Markdown stage: what keeps its block and inline structure.

Each example (tests/data/commonmark/spec.json) goes through `render_body`, sanitizer included, and the
result is compared with the spec's HTML as a tree of elements and text: whitespace runs collapse, and
attributes are ignored except a link's or image's address, an image's alt text and a list's start
number. An address the sanitizer refuses by design (a scheme it does not allow) is not compared, and
the raw-HTML sections are left out: the sanitizer rewrites raw HTML on purpose.

`DIFFERS` lists every example that still comes out with another structure, with the reason, so an
example that starts to pass and one that starts to fail both show up here.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

import pytest

from conftest import DATA
from guidepdf.markup import render_body, sanitize

SPEC: list[dict[str, Any]] = json.loads((DATA / "commonmark" / "spec.json").read_text(encoding="utf-8"))
RAW_HTML_SECTIONS = frozenset({"HTML blocks", "Raw HTML"})
EXAMPLES = {e["example"]: e for e in SPEC if e["section"] not in RAW_HTML_SECTIONS}
#: The issue asks for this share; Python-Markdown with the extensions in markup.py does not reach it.
TARGET = 0.85
#: What the Markdown stage keeps today: a fall below it is a regression.
FLOOR = 0.79
LIST_SECTIONS = frozenset({"Lists", "List items"})
VOID = frozenset({"br", "hr", "img", "input"})

# Reasons for list examples that no guide is likely to contain.
_R_EMPTY_ITEM = "an item with no text (a marker alone) is text or a setext underline to Python-Markdown"
_R_MARKER_CHANGE = "Python-Markdown does not start a new list when only the bullet or the delimiter changes"
_R_CODE_IN_ITEM = (
    "indented code opening an item, or indented past a list's end, follows Python-Markdown's 4-space rule"
)
_R_TIGHT_BLOCKS = "a quote, setext underline or fence directly on an item's lines needs a blank line first"
_R_ODD_NUMBERS = "a ten-digit number starts a list in Python-Markdown"
IMPLAUSIBLE_IN_LISTS = frozenset(
    {_R_EMPTY_ITEM, _R_MARKER_CHANGE, _R_CODE_IN_ITEM, _R_TIGHT_BLOCKS, _R_ODD_NUMBERS}
)
#: List examples a guide could contain that still differ, and how a reader sees the difference.
_R_NESTED_LOOSE = (
    "a blank line inside a nested item also spaces the outer list's items as paragraphs (spacing only)"
)

_R_RAW = "raw HTML in the example: Python-Markdown and the sanitizer rewrite it by design"
_R_ESCAPE_ANY = "pymdownx.escapeall lets a backslash escape any character, not only ASCII punctuation"
_R_DESTINATION = "Python-Markdown takes link addresses CommonMark refuses (spaces, breaks, <…>), or titles"
_R_LINK_NESTING = "Python-Markdown resolves brackets inside link text, and nested links, by other precedence"
_R_REFERENCE = "a link reference definition edge case (multi-line, duplicate, escaped, or under a paragraph)"
_R_ALT = "an image's alt text keeps its Markdown punctuation"
_R_AUTOLINK_SCHEME = (
    "an <scheme:…> autolink with a scheme other than http(s) is raw HTML to Python-Markdown, removed"
)
_R_MAILTO_TWICE = "Python-Markdown puts mailto: in front of an address already written <MAILTO:…>"
_R_AUTOLINK_SPACE = "an autolink edge case (space or backslash inside <…>)"
_R_GFM_AUTOLINK = "bare addresses become links by design (GitHub's autolink extension, pymdownx.magiclink)"
_R_PILLS = "a line of only code spans is the guide's tag line, printed as tag pills by design"
_R_ATX = "ATX heading edge case: indented, empty, or a closing # run Python-Markdown reads otherwise"
_R_SETEXT = "setext heading edge case: several lines, indented, or an underline under a quote or list"
_R_RULE = "a thematic break spaced out, tabbed, or right under another is read as a list or an underline"
_R_FENCE = "a fence left open, indented, in a block quote, or closed by a longer or indented fence"
_R_QUOTE = "Python-Markdown joins block quotes across blank lines and lazy lines"
_R_CODE_SPAN = "an unmatched backtick run, or a code span against an autolink or raw HTML"
_R_ENTITY = "an out-of-range numeric character reference"

DIFFERS: dict[int, str] = {
    **dict.fromkeys((7, 257, 273, 274, 313), _R_CODE_IN_ITEM),
    **dict.fromkeys((11, 43, 53, 98), _R_RULE),
    13: _R_ESCAPE_ANY,
    **dict.fromkeys((20, 603, 602, 606, 608), _R_AUTOLINK_SPACE),
    **dict.fromkeys((21, 31), _R_RAW),
    28: _R_ENTITY,
    **dict.fromkeys((41, 488, 490, 491, 493, 494, 508, 568), _R_DESTINATION),
    **dict.fromkeys((68, 71, 73, 75, 76, 79, 646), _R_ATX),
    **dict.fromkeys((81, 82, 84, 86, 92, 94, 95, 99, 101, 234), _R_SETEXT),
    **dict.fromkeys((124, 126, 127, 128, 131, 132, 133, 135, 136, 137, 139, 143, 237), _R_FENCE),
    **dict.fromkeys((194, 195, 196, 201, 213, 216, 541, 549, 550, 551, 552), _R_REFERENCE),
    **dict.fromkeys((235, 236, 242, 249, 252), _R_QUOTE),
    266: _R_ODD_NUMBERS,
    **dict.fromkeys((278, 279, 280, 281, 282, 283, 284, 315), _R_EMPTY_ITEM),
    **dict.fromkeys((300, 318, 320, 321, 324), _R_TIGHT_BLOCKS),
    **dict.fromkeys((301, 302), _R_MARKER_CHANGE),
    319: _R_NESTED_LOOSE,
    334: _R_PILLS,
    **dict.fromkeys((344, 346, 347), _R_CODE_SPAN),
    **dict.fromkeys(
        (518, 519, 520, 524, 526, 532, 533, 536, 538, 540, 542, 543, 559, 569, 571), _R_LINK_NESTING
    ),
    **dict.fromkeys((573, 574, 576, 577, 585, 589), _R_ALT),
    **dict.fromkeys((596, 598, 599, 601, 609, 610), _R_AUTOLINK_SCHEME),
    597: _R_MAILTO_TWICE,
    **dict.fromkeys((611, 612), _R_GFM_AUTOLINK),
}


class _Tree(HTMLParser):
    """A small tag tree: (tag, compared attributes, children), text with whitespace runs collapsed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root: list[Any] = ["#root", {}, []]
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node: list[Any] = [tag, _compared(tag, dict(attrs)), []]
        self.stack[-1][2].append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1][2].append([tag, _compared(tag, dict(attrs)), []])

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1][2].append(data)


def _compared(tag: str, attrs: dict[str, str | None]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name in ("href", "src"):
        value = attrs.get(name)
        if value is not None and _survives(tag, name, value):
            kept[name] = unquote(value)
    if tag == "img":
        kept["alt"] = attrs.get("alt") or ""
    if tag == "ol" and attrs.get("start"):
        kept["start"] = str(int(attrs["start"] or "1"))
    return kept


def _survives(tag: str, name: str, value: str) -> bool:
    """Whether the sanitizer keeps this address at all (its scheme allow-list is by design)."""
    quoted = value.replace("&", "&amp;").replace('"', "&quot;")
    return f'{name}="' in sanitize(f'<{tag} {name}="{quoted}">x</{tag}>')


def _normal(node: list[Any]) -> tuple[Any, ...]:
    children: list[Any] = []
    for child in node[2]:
        if isinstance(child, str):
            text = re.sub(r"\s+", " ", child)
            if children and isinstance(children[-1], str):
                children[-1] += text
            else:
                children.append(text)
        else:
            children.append(_normal(child))
    kept = [c.strip() if isinstance(c, str) else c for c in children]
    return (node[0], tuple(sorted(node[1].items())), tuple(c for c in kept if c != ""))


def structure(fragment: str) -> tuple[Any, ...]:
    """The comparable tree of an HTML fragment."""
    tree = _Tree()
    tree.feed(fragment)
    tree.close()
    return _normal(tree.root)


def rendered(example: dict[str, Any]) -> str:
    """The example through the Markdown stage, with the body's top heading level set to the spec's."""
    levels = [int(level) for level in re.findall(r"<h([1-6])", example["html"])]
    return render_body(example["markdown"], top_level=min(levels) if levels else 2).html


def keeps_structure(number: int) -> bool:
    example = EXAMPLES[number]
    return structure(rendered(example)) == structure(example["html"])


@pytest.mark.parametrize("number", sorted(EXAMPLES))
def test_example(number: int) -> None:
    example = EXAMPLES[number]
    kept = keeps_structure(number)
    if number in DIFFERS:
        assert not kept, f"example {number} now keeps its structure: take it out of DIFFERS"
    else:
        assert kept, (
            f"example {number} ({example['section']}):\n{example['markdown']!r}\n"
            f"spec:\n{example['html']}\ngot:\n{rendered(example)}"
        )


def test_every_difference_is_a_checked_example_with_a_reason() -> None:
    assert set(DIFFERS) <= set(EXAMPLES)
    assert all(reason.strip() for reason in DIFFERS.values())


def test_share_kept_is_at_least_the_floor() -> None:
    share = 1 - len(DIFFERS) / len(EXAMPLES)
    assert share >= FLOOR, f"{share:.1%} of {len(EXAMPLES)} examples keep their structure"


@pytest.mark.xfail(
    strict=True, reason="Python-Markdown and its extensions keep 79.1%; 85% needs another parser"
)
def test_share_kept_reaches_the_target() -> None:
    assert 1 - len(DIFFERS) / len(EXAMPLES) >= TARGET


def test_list_examples_that_still_differ_are_ones_a_guide_would_not_contain() -> None:
    known = IMPLAUSIBLE_IN_LISTS | {_R_NESTED_LOOSE}
    for number, reason in DIFFERS.items():
        if EXAMPLES[number]["section"] in LIST_SECTIONS:
            assert reason in known, (number, reason)
