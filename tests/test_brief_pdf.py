"""PDF facts read back from rendered briefs: text, pages, bookmarks, links, metadata, fonts, images."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import SEEDS, pdfinfo, pdftotext
from guidepdf import RenderOptions, load_guide, render_pdf

AS_OF = date(2026, 11, 23)


@pytest.fixture(scope="module")
def reference_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ref")
    source = folder / "reference.md"
    source.write_bytes((Path(__file__).parent / "data" / "reference.md").read_bytes())
    pdf = folder / "reference.pdf"
    pdf.write_bytes(render_pdf(load_guide(source), RenderOptions(as_of=AS_OF)))
    return pdf


def outline_titles(reader: PdfReader) -> list[tuple[int, str, int]]:
    """(depth, title, page index) for every bookmark, depth first."""
    found: list[tuple[int, str, int]] = []

    def walk(items: list, depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((depth, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline, 0)
    return found


def test_reference_text_a_reader_sees(reference_pdf: Path) -> None:
    text = pdftotext(reference_pdf)
    for expected in (
        "Jane Street — ML/AI Engineer",  # title block
        "$525K–$775K",  # headline total range
        "$250K–$350K",  # base
        "$275K–$425K",  # bonus
        "Review overdue",  # next_review_due 2026-05-23 is before the as-of date
        "23 May 2026",
        "2025-Q4",
        "Levels.fyi, Blind",
        "London",  # null regions are labelled, not dropped
        "from the guide",  # ... and show the body table's figures, marked (tests/test_figures.py)
        "HK$4.10M",  # body table
        "£410K",
        "Negotiate Up Strategy",
        "Page 1 of 3",
        "Data as of 23 Feb 2026",
    ):
        assert expected in text, expected
    assert "`" not in text  # backticked tags became pills


def test_reference_pages_metadata_and_language(reference_pdf: Path) -> None:
    info = pdfinfo(reference_pdf)
    assert info["Pages"] == "3"
    assert info["Title"] == "Jane Street — ML/AI Engineer"
    assert info["Author"] == "Jane Street"
    assert info["Creator"].startswith("guidepdf ")
    assert info["Subject"] == "Salary negotiation brief: ML/AI Engineer at Jane Street"
    assert "Alpha Architect" in info["Keywords"]
    assert "A4" in info["Page size"]
    reader = PdfReader(reference_pdf)
    assert reader.trailer["/Root"]["/Lang"] == "en"


def test_reference_bookmarks_follow_headings(reference_pdf: Path) -> None:
    reader = PdfReader(reference_pdf)
    marks = outline_titles(reader)
    assert marks[0] == (0, "Jane Street — ML/AI Engineer", 0)
    sections = [title for depth, title, _ in marks if depth == 1]
    assert sections[:3] == ["Compensation Benchmarks by Region", "Negotiation DNA", "Level Mapping"]
    assert "Evidence & Sources" in sections
    # each bookmark lands on the page where its heading is printed
    for _, title, page in marks[1:]:
        assert title in reader.pages[page].extract_text().replace("\n", " ")


def test_links_are_clickable_and_urls_printed(reference_pdf: Path) -> None:
    reader = PdfReader(reference_pdf)
    uris = {
        annot.get_object()["/A"]["/URI"]
        for page in reader.pages
        for annot in page.get("/Annots", [])
        if "/A" in annot.get_object() and "/URI" in annot.get_object()["/A"]
    }
    assert {"https://www.ft.com", "https://www.levels.fyi", "https://blog.janestreet.com"} <= uris
    assert "(https://www.teamblind.com)" in pdftotext(reference_pdf)


def test_bundled_fonts_are_embedded(reference_pdf: Path) -> None:
    fonts = subprocess.run(
        ["pdffonts", str(reference_pdf)], capture_output=True, text=True, check=True
    ).stdout
    assert "Inter" in fonts
    assert "DejaVu" not in fonts  # nothing fell back to a system font


def test_symbols_and_latin_extended(tmp_path: Path) -> None:
    guide = tmp_path / "symbols.md"
    guide.write_text(
        "---\ncompany: zurich-ag\ncompany_display: Zürich Łódź AG\nrole: analyst\n---\n"
        "Pay £ € ¥ ₹ ≤ → in São Paulo, Kraków and Ærøskøbing.\n",
        encoding="utf-8",
    )
    pdf = tmp_path / "s.pdf"
    pdf.write_bytes(render_pdf(load_guide(guide), RenderOptions(as_of=AS_OF)))
    text = pdftotext(pdf)
    assert "£ € ¥ ₹ ≤ →" in text
    assert "São Paulo, Kraków and Ærøskøbing" in text
    assert "Zürich Łódź AG" in text


def test_letter_page_size(tmp_path: Path) -> None:
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(
        render_pdf(load_guide(SEEDS / "kestrel-games-product-designer.md"), RenderOptions(page_size="Letter"))
    )
    assert "612 x 792" in pdfinfo(pdf)["Page size"]


def test_local_image_beside_the_guide(tmp_path: Path) -> None:
    pdf = tmp_path / "img.pdf"
    pdf.write_bytes(render_pdf(load_guide(SEEDS / "northwind-robotics-software-engineer.md")))
    listing = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    rows = [line for line in listing.splitlines()[2:] if line.strip()]
    assert any(" 600 " in row and " 240 " in row for row in rows), listing


def test_long_guide_runs_past_four_pages_with_repeated_table_headers(tmp_path: Path) -> None:
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(
        render_pdf(load_guide(SEEDS / "aurelian-systems-engineering-manager.md"), RenderOptions(as_of=AS_OF))
    )
    reader = PdfReader(pdf)
    assert len(reader.pages) >= 4
    header = "Aurelian Systems · Engineering Manager"
    assert all(header in page.extract_text() for page in reader.pages[1:])
    assert f"Page {len(reader.pages)} of {len(reader.pages)}" in reader.pages[-1].extract_text()


def test_same_inputs_same_bytes(reference_guide: Path) -> None:
    options = RenderOptions(as_of=AS_OF)
    first = render_pdf(load_guide(reference_guide), options)
    second = render_pdf(load_guide(reference_guide), options)
    assert first == second
    assert render_pdf(load_guide(reference_guide), RenderOptions(as_of=date(2026, 1, 1))) != first


def test_long_table_repeats_its_header_and_keeps_rows_whole(tmp_path: Path) -> None:
    rows = "\n".join(
        f"| Level {i} | Row {i} first line<br>second line of row {i} end | ${100 + i}K |" for i in range(70)
    )
    guide = tmp_path / "table.md"
    guide.write_text(
        "---\ncompany: acme\nrole: sre\n---\n#### Bands\n\n"
        f"| Level | Notes | Base |\n|---|---|---|\n{rows}\n",
        encoding="utf-8",
    )
    pdf = tmp_path / "table.pdf"
    pdf.write_bytes(render_pdf(load_guide(guide), RenderOptions(as_of=AS_OF)))
    reader = PdfReader(pdf)
    assert len(reader.pages) >= 2
    for page in reader.pages:
        text = page.extract_text()
        if "Level" in text:
            assert "LevelNotesBase" in text.replace(" ", "").replace("\n", "")
            # a row's two lines never land on different pages
            for i in range(70):
                assert (f"Row {i} first line" in text) == (f"second line of row {i} end" in text), i


def test_the_html_parser_finds_its_run_patterns_again(reference_pdf: Path) -> None:
    """tinyhtml5 files its patterns under the wrong key; guidepdf's table makes the same patterns."""
    import re

    import tinyhtml5
    from tinyhtml5 import inputstream

    keys = list(inputstream.characters_until_regex)
    assert keys and not any(isinstance(characters, re.Pattern) for characters, _ in keys)
    page = (Path(__file__).parent / "golden" / "reference.html").read_text()
    page += "<p title=\"a &amp; b\" data-x='1'>x&lt;y <!-- note --> z</p>"

    def tree(table: dict) -> str:
        inputstream.characters_until_regex = table
        root = tinyhtml5.parse(page, namespace_html_elements=False)
        return "".join(f"{el.tag}{sorted(el.attrib.items())}{el.text}{el.tail}" for el in root.iter())

    ours = inputstream.characters_until_regex
    try:
        assert tree(type(ours)()) == tree({})
    finally:
        inputstream.characters_until_regex = ours


def test_every_stream_but_the_metadata_is_compressed(reference_pdf: Path) -> None:
    """WeasyPrint leaves them plain and qpdf compresses them when the file is finished."""
    import pikepdf

    with pikepdf.open(reference_pdf) as pdf:
        plain = [
            (obj.objgen, str(obj.get("/Type")))
            for obj in pdf.objects
            if isinstance(obj, pikepdf.Stream) and "/Filter" not in obj and obj.get("/Type") != "/Metadata"
        ]
        streams = sum(isinstance(obj, pikepdf.Stream) for obj in pdf.objects)
    assert streams > 10 and plain == []


@pytest.mark.parametrize("enabled", [True, False])
def test_a_render_leaves_the_garbage_collector_as_it_found_it(reference_guide: Path, enabled: bool) -> None:
    import gc

    was = gc.isenabled()
    try:
        if not enabled:
            gc.disable()
        render_pdf(load_guide(reference_guide), RenderOptions(as_of=AS_OF))
        assert gc.isenabled() is enabled
    finally:
        if was:
            gc.enable()


def test_white_space_between_blocks_goes_but_not_inside_pre_or_between_words() -> None:
    from guidepdf.pdf import tight_blocks

    html = (
        '<div class="body">\n<p>a <b>b</b>\n<i>c</i></p>\n<pre><code>x\n</code>\n</pre>\n'
        "<ul>\n<li>\n<p>d</p>\n</li>\n</ul>\n<table>\n<tr>\n<td> e </td>\n</tr>\n</table>\n</div>"
    )
    assert tight_blocks(html) == (
        '<div class="body"><p>a <b>b</b>\n<i>c</i></p>\n<pre><code>x\n</code>\n</pre>\n'
        "<ul><li><p>d</p></li></ul><table><tr><td> e </td></tr></table></div>"
    )


def test_a_style_of_ones_own_keeps_the_white_space_between_blocks(tmp_path: Path) -> None:
    """A theme's stylesheet may show it (`white-space: pre-line`): then the items stand further apart."""
    import re

    guide = tmp_path / "g.md"
    guide.write_text("# Lines\n\n- one\n- two\n", encoding="utf-8")

    def gap(css: str) -> float:
        style = tmp_path / "own.css"
        style.write_text(css, encoding="utf-8")
        pdf = tmp_path / "g.pdf"
        pdf.write_bytes(render_pdf(load_guide(guide), RenderOptions(as_of=AS_OF, styles=(style,))))
        xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True).stdout
        top = {word: float(y) for y, word in re.findall(r'yMin="([\d.]+)"[^>]*>(one|two)<', xml)}
        return top["two"] - top["one"]

    assert gap(".body ul { white-space: pre-line; }\n") > gap(".body ul { color: inherit; }\n") + 5
