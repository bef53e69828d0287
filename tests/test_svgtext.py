"""SVG text without per-character positions is shaped and drawn as one run (`guidepdf.svgtext`); text
with them is still placed letter by letter by WeasyPrint's own code."""

from __future__ import annotations

import io
import subprocess
import unicodedata
from pathlib import Path

import pikepdf
import pytest

from conftest import SEEDS, pdftotext
from guidepdf import RenderOptions, render_pdf
from guidepdf.pdf import _weasyprint

#: A page just the size of its drawing, so that SVG user units are CSS pixels from the page's corner.
PAGE = "<style>@page { size: 400px 100px; margin: 0 } body { margin: 0 } svg { display: block }</style>"


def svg_pdf(body: str, folder: Path) -> Path:
    """`body` drawn in a 400 x 100 SVG on a page of that size, by WeasyPrint as guidepdf sets it up."""
    weasyprint = _weasyprint()
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="100" font-family="DejaVu Sans">'
        f"{body}</svg>"
    )
    path = folder / "drawing.pdf"
    weasyprint.HTML(string=PAGE + svg).write_pdf(path)
    return path


def glyph_runs(pdf: pikepdf.Pdf) -> list[int]:
    """How many glyphs each text-showing operator of the first page (and the forms it draws) shows."""
    runs: list[int] = []
    stack = [pdf.pages[0].obj]
    while stack:
        content = stack.pop()
        for instruction in pikepdf.parse_content_stream(content):
            operator = str(instruction.operator)
            if operator == "Tj":
                runs.append(len(bytes(instruction.operands[0])) // 2)  # two-byte glyph ids
            elif operator == "TJ":
                runs.append(
                    sum(
                        len(bytes(item)) // 2
                        for item in instruction.operands[0]
                        if isinstance(item, pikepdf.String)
                    )
                )
        resources = content.get("/Resources")
        if resources is not None and "/XObject" in resources:
            stack.extend(x for x in resources.XObject.values() if x.get("/Subtype") == "/Form")
    return runs


def words(path: Path) -> list[tuple[str, float, float]]:
    """(word, xMin, xMax) of every word poppler finds, in points."""
    html = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    found = []
    for line in html.splitlines():
        if "<word " in line:
            attributes = dict(part.split("=", 1) for part in line.strip().split(">")[0].split()[1:])
            text = line.split(">", 1)[1].rsplit("<", 1)[0]
            found.append((text, float(attributes["xMin"].strip('"')), float(attributes["xMax"].strip('"'))))
    return found


def test_a_plain_text_is_one_run(tmp_path: Path) -> None:
    path = svg_pdf('<text x="10" y="40" font-size="20">Total</text>', tmp_path)
    with pikepdf.open(path) as pdf:
        assert glyph_runs(pdf) == [5]
    assert pdftotext(path).split() == ["Total"]


def test_text_with_positions_for_each_character_is_placed_letter_by_letter(tmp_path: Path) -> None:
    path = svg_pdf('<text x="10 110 210" y="40" font-size="20">abc</text>', tmp_path)
    with pikepdf.open(path) as pdf:
        assert glyph_runs(pdf) == [1, 1, 1]
    starts = sorted(x_min for _, x_min, _ in words(path))
    assert starts == pytest.approx([10 * 0.75, 110 * 0.75, 210 * 0.75], abs=1.0)  # px to points


@pytest.mark.parametrize("attribute", ['dx="3"', 'rotate="10"', 'letter-spacing="2"', 'textLength="150"'])
def test_per_character_attributes_are_left_to_weasyprint(tmp_path: Path, attribute: str) -> None:
    path = svg_pdf(f'<text x="10" y="40" font-size="20" {attribute}>Base</text>', tmp_path)
    with pikepdf.open(path) as pdf:
        assert glyph_runs(pdf) == [1, 1, 1, 1]
    assert "".join(pdftotext(path).split()) == "Base"


def test_a_combining_mark_stays_on_its_letter(tmp_path: Path) -> None:
    # Shaped one code point at a time, the mark stood alone on a dotted circle: "Zu r̈ ich".
    path = svg_pdf('<text x="10" y="40" font-size="20">Zu\u0308rich office</text>', tmp_path)
    assert [unicodedata.normalize("NFC", word) for word in pdftotext(path).split()] == ["Zürich", "office"]


@pytest.mark.parametrize(("anchor", "expected"), [("start", "x_min"), ("middle", "centre"), ("end", "x_max")])
def test_an_anchored_run_sits_where_its_anchor_says(tmp_path: Path, anchor: str, expected: str) -> None:
    path = svg_pdf(f'<text x="200" y="40" font-size="20" text-anchor="{anchor}">Stock</text>', tmp_path)
    ((word, x_min, x_max),) = words(path)
    assert word == "Stock"
    at = {"x_min": x_min, "centre": (x_min + x_max) / 2, "x_max": x_max}[expected]
    assert at == pytest.approx(200 * 0.75, abs=1.5)


def test_a_tspan_carries_on_from_the_run_before_it(tmp_path: Path) -> None:
    path = svg_pdf(
        '<text x="10" y="40" font-size="20">München<tspan font-size="12"> EUR</tspan></text>', tmp_path
    )
    (first, _, first_end), (second, second_start, _) = words(path)
    assert (first, second) == ("München", "EUR")
    assert 0 < second_start - first_end < 8  # a space's width after the run, not over it nor far off


def test_the_chart_labels_of_a_brief_are_whole_runs() -> None:
    data = render_pdf(SEEDS / "kestrel-games-product-designer.md", RenderOptions())
    with pikepdf.open(io.BytesIO(data)) as pdf:
        runs = glyph_runs(pdf)
    # Drawn a glyph at a time, the chart's labels ("Total", "€77K–€109K", the ticks) made some 150
    # one-glyph runs on page one; what is left are the "0" ticks and a table's brackets.
    assert runs.count(1) <= 10, runs
    assert len(runs) < 150, runs
    assert "€77K–€109K" in pdftotext_bytes(data)


def pdftotext_bytes(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-l", "1", "-", "-"], input=data, check=True, capture_output=True
    ).stdout.decode()
