"""SVG text shaped as whole runs, as WeasyPrint's development version shapes it.

WeasyPrint 70 lays out and draws SVG text one code point at a time, so that any character could
have its own position. A text without per-character positions (the range chart's labels, and most
SVG text there is) so loses its kerning, splits a combining mark from its letter, and costs a Pango
layout and a drawn line per letter: a tenth of a warm brief's time went on the range chart's
twenty-odd short labels. Upstream shapes such a text whole (Kozea/WeasyPrint#2249);
`shape_whole_runs` does the same for WeasyPrint 70, and leaves every text with per-character
positions, spacing, a set length or another direction to WeasyPrint's own code.
"""

from __future__ import annotations

import functools
from math import inf
from typing import Any

#: Attributes that place characters one by one (or space them), which only the original handles.
_PER_CHARACTER = ("dx", "dy", "rotate", "letter-spacing", "textLength", "lengthAdjust")


@functools.cache
def shape_whole_runs() -> None:
    """Make WeasyPrint draw each SVG text without per-character positions as one shaped run."""
    from weasyprint import svg

    original = svg.text
    if getattr(original, "shapes_whole_runs", False):
        return

    def text(drawing: Any, node: Any, font_size: float) -> None:
        if not _plain(node):
            original(drawing, node, font_size)
            return
        _draw_run(drawing, node, font_size)

    text.shapes_whole_runs = True  # type: ignore[attr-defined]
    text.__doc__ = original.__doc__
    # `draw_node` tells text nodes by comparing TAGS' entry with the package's `text`: both change.
    svg.TAGS.update({tag: text for tag, draw in svg.TAGS.items() if draw is original})
    svg.text = text


def _single(node: Any, name: str) -> bool:
    """Whether attribute `name` is absent or holds one length (not one per character)."""
    from weasyprint.svg.utils import normalize

    value = node.attrib.get(name)
    return value is None or len(normalize(value).strip().split(" ")) == 1


def _plain(node: Any) -> bool:
    """Whether `node`'s text has no per-character positions, spacing, set length or direction."""
    return bool(
        node.text
        and not any(name in node.attrib for name in _PER_CHARACTER)
        and node.get("direction") in (None, "ltr")
        and _single(node, "x")
        and _single(node, "y")
    )


def _draw_run(drawing: Any, node: Any, font_size: float) -> None:
    """WeasyPrint 70's `svg.text.text` for one run: the same style, placement and bounding box."""
    from weasyprint.css.properties import INITIAL_VALUES
    from weasyprint.draw.text import draw_emojis, draw_first_line
    from weasyprint.matrix import Matrix
    from weasyprint.svg.bounding_box import extend_bounding_box
    from weasyprint.svg.text import Style, TextBox
    from weasyprint.svg.utils import normalize, size
    from weasyprint.text.line_break import split_first_line

    style = Style()
    style.update(INITIAL_VALUES)
    style.font_config = drawing.font_config
    style["font_family"] = [font.strip("\"'") for font in node.get("font-family", "sans-serif").split(",")]
    style["font_style"] = node.get("font-style", "normal")
    style["font_size"] = font_size
    weight = node.get("font-weight", 400)
    if weight == "normal":
        weight = 400
    elif weight == "bold":
        weight = 700
    else:
        try:
            weight = int(weight)
        except ValueError:
            weight = 400
    style["font_weight"] = weight

    layout, _, _, width, height, baseline = split_first_line(node.text, style, drawing.context, inf, 0)

    x = y = None
    if "x" in node.attrib:
        x = size(normalize(node.attrib["x"]).strip(), font_size, drawing.inner_width)
    if "y" in node.attrib:
        y = size(normalize(node.attrib["y"]).strip(), font_size, drawing.inner_height)

    # WeasyPrint's approximations, kept so that a run sits where its letters did
    ascent, descent = font_size * 0.8, font_size * 0.2
    y_align = 0.0
    display_anchor = node.get("display-anchor")
    alignment_baseline = node.get("dominant-baseline", node.get("alignment-baseline"))
    if display_anchor == "middle":
        y_align = -height / 2
    elif display_anchor == "top":
        pass
    elif display_anchor == "bottom":
        y_align = -height
    elif alignment_baseline in ("central", "middle"):
        y_align = (ascent + descent) / 2 - descent
    elif alignment_baseline in ("text-before-edge", "before_edge", "top", "hanging", "text-top"):
        y_align = ascent
    elif alignment_baseline in ("text-after-edge", "after_edge", "bottom", "text-bottom"):
        y_align = -descent

    if x is not None:
        drawing.cursor_d_position[0] = 0
    if y is not None:
        drawing.cursor_d_position[1] = 0
    x = drawing.cursor_position[0] if x is None else x
    y = drawing.cursor_position[1] if y is None else y
    drawing.cursor_position = x + width, y
    x_position = x + drawing.cursor_d_position[0]
    y_position = y + drawing.cursor_d_position[1] + y_align
    points = ((x_position, y_position - baseline), (x_position + width, y_position - baseline + height))
    node.text_bounding_box = extend_bounding_box(node.text_bounding_box, points)

    drawing.stream.push_state()
    fill, stroke = drawing.set_graphical_state(node, font_size)
    drawing.stream.begin_text()
    layout.reactivate(style)
    drawing.fill_stroke(fill, stroke, text=True)
    text_box = TextBox(layout, style)
    text_box.baseline = baseline
    emojis = draw_first_line(
        drawing.stream, text_box, "none", "none", Matrix(d=-1, e=x_position, f=y_position)
    )
    drawing.stream.end_text()
    drawing.stream.pop_state()
    draw_emojis(drawing.stream, style, x, y, emojis)
