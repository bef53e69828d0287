"""The brief's typographic finish, read back from the stylesheet and the PDF a reader gets."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest

from conftest import SEEDS, pdftotext
from guidepdf import RenderOptions, load_guide, render_pdf
from guidepdf.chart import build_chart
from guidepdf.guide import Compensation
from guidepdf.templating import build_page
from guidepdf.themes import builtin_dir
from guidepdf.typeset import typeset

AS_OF = date(2026, 11, 23)
REFERENCE = Path(__file__).parent / "data" / "reference.md"
STYLES = builtin_dir("styles")
WHITE, PANEL = "#ffffff", "#f3f5f9"


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _hex(value: str, variables: dict[str, str]) -> str | None:
    value = value.strip()
    var = re.fullmatch(r"var\((--[\w-]+)\)", value)
    if var:
        value = variables.get(var.group(1), "")
    if value == "white":
        return WHITE
    return value if re.fullmatch(r"#[0-9a-fA-F]{6}", value) else None


def test_every_text_colour_has_at_least_4_5_to_1_contrast() -> None:
    for sheet in ("brief.css", "packet.css"):
        css = (STYLES / sheet).read_text(encoding="utf-8")
        variables = dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})", (STYLES / "brief.css").read_text()))
        checked = 0
        for selector, block in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
            colour = re.search(r"(?<![-\w])color:\s*([^;]+);?", block)
            if not colour or (fg := _hex(colour.group(1), variables)) is None:
                continue
            own = re.search(r"background(?:-color)?:\s*([^;]+);?", block)
            backgrounds = [b] if own and (b := _hex(own.group(1), variables)) else [WHITE, PANEL]
            for bg in backgrounds:
                assert contrast(fg, bg) >= 4.5, f"{sheet}: {selector.strip()}: {fg} on {bg}"
            checked += 1
        assert checked >= 5, sheet
    # the chart's own text fills, on the panel it sits on
    chart = (builtin_dir("templates") / "chart.html.j2").read_text(encoding="utf-8")
    for fill in set(re.findall(r'<t(?:ext|span)[^>]*fill="(#[0-9a-fA-F]{6})"', chart)):
        assert contrast(fill, PANEL) >= 4.5, fill


@pytest.fixture(scope="module")
def aurelian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("design") / "aurelian.pdf"
    guide = load_guide(SEEDS / "aurelian-systems-engineering-manager.md")
    path.write_bytes(render_pdf(guide, RenderOptions(as_of=AS_OF)))
    return path


def test_letter_spaced_capitals_extract_as_words(aurelian: Path) -> None:
    text = pdftotext(aurelian)
    assert "SALARY NEGOTIATION BRIEF" in text
    assert "LAST UPDATED" in text and "TOTAL COMPENSATION" in text
    assert "SAL ARY" not in text and "L AST" not in text


def test_no_role_type_kicker_and_panel_columns_follow_the_body(aurelian: Path) -> None:
    text = " ".join(pdftotext(aurelian).split())
    assert "MANAGEMENT ROLE" not in text
    panel = text[text.index("REGION") :]
    assert panel.index("BASE") < panel.index("STOCK") < panel.index("BONUS") < panel.index("TOTAL")


def test_body_ranges_use_an_en_dash_and_never_break(aurelian: Path) -> None:
    text = pdftotext(aurelian)
    assert "$240K - $300K" not in text and "$240K–$300K" in text
    for line in text.splitlines():  # no range is cut at its dash
        assert not re.search(r"[–-]$", line.strip()) or not re.search(r"\d[KM]?[–-]$", line.strip()), line


def test_typeset_quotes_ranges_and_numeric_columns() -> None:
    html = typeset(
        '<p>He said "stop" - it\'s the guide\'s lever. <code>x = "a"</code> 2024-2025 $36K - $60K</p>'
        "<table><thead><tr><th>Level</th><th>Base</th></tr></thead>"
        "<tbody><tr><td>M1</td><td>$240K - $300K</td></tr></tbody></table>"
    )
    assert "“stop”" in html and "it’s the guide’s" in html
    assert '<code>x = "a"</code>' in html  # code is left as written
    assert "2024-2025" in html and '<span class="nowrap">$36K–$60K</span>' in html
    assert '<table class="short">' in html
    # A cell holding only a range is kept on one line by its own class, not by a span inside it.
    assert '<td class="num nowrap">$240K–$300K</td>' in html


def test_code_is_set_in_the_bundled_monospace_face(tmp_path: Path) -> None:
    guide = tmp_path / "g.md"
    guide.write_text("# Code\n\nRun `guidepdf render` now.\n", encoding="utf-8")
    out = tmp_path / "g.pdf"
    out.write_bytes(render_pdf(load_guide(guide), RenderOptions(as_of=AS_OF)))
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    assert "IBM-Plex-Mono" in fonts and "emb" in fonts


def test_regions_in_one_currency_share_a_scale_with_ticks() -> None:
    chart = build_chart(
        [
            Compensation(region="NY", currency="USD", base_low=200_000, base_high=300_000),
            Compensation(region="Austin", currency="USD", base_low=100_000, base_high=150_000),
            Compensation(region="London", currency="GBP", base_low=100_000, base_high=120_000),
        ]
    )
    ny, austin, london = chart.rows
    assert austin.bars[0].end == pytest.approx(0.5)  # on New York's scale, not its own
    assert london.bars[0].end == pytest.approx(1.0)  # another currency: its own scale
    assert [label for _, label in ny.ticks] == ["0", "$100K", "$200K", "$300K"]
    assert all(0 <= f <= 1 for f, _ in austin.ticks)


def test_an_up_to_bonus_is_drawn_from_zero() -> None:
    comp = Compensation(region="X", currency="USD", base_low=100, base_high=200, bonus_high=50)
    row = build_chart([comp]).rows[0]
    bonus = next(bar for bar in row.bars if bar.kind == "bonus")
    assert (bonus.start, bonus.end) == pytest.approx((0.0, 0.25)) and bonus.label == "up to $50"


def test_an_all_empty_column_is_dropped_and_a_guide_without_figures_has_no_chart(tmp_path: Path) -> None:
    cash = tmp_path / "cash.md"
    cash.write_text(
        "---\ncompensation:\n"
        "  - {region: A, currency: USD, base_low: 1, base_high: 2, bonus_low: 1, bonus_high: 2}\n"
        "---\nBody\n",
        encoding="utf-8",
    )
    html = build_page(load_guide(cash), RenderOptions(as_of=AS_OF)).html
    table = html[html.index('<table class="regions"') : html.index("</table>")]
    assert ">Bonus<" in table and ">Stock<" not in table
    empty = tmp_path / "empty.md"
    empty.write_text("---\ncompensation:\n  - {region: London, currency: GBP}\n---\nBody\n", encoding="utf-8")
    html = build_page(load_guide(empty), RenderOptions(as_of=AS_OF)).html
    assert "<svg" not in html and 'class="regions"' not in html
    assert "No figures in the guide’s data for London (GBP)" in html


def test_a_guide_with_no_metadata_has_no_strip_of_dashes(tmp_path: Path) -> None:
    bare = tmp_path / "bare.md"
    bare.write_text("# Bare\n\nJust text.\n", encoding="utf-8")
    html = build_page(load_guide(bare), RenderOptions(as_of=AS_OF)).html
    assert "meta-strip" not in html


def test_overdue_notice_keeps_its_last_words_together() -> None:
    html = build_page(load_guide(REFERENCE), RenderOptions(as_of=AS_OF)).html
    assert '<span class="nowrap">out of date.</span>' in html
    assert '<span class="nowrap">23 May 2026</span>' in html


def test_hyphenated_compounds_extract_with_their_hyphen(tmp_path: Path) -> None:
    words = ["already-elite", "sub-millisecond", "front-loaded", "well-known", "cross-border", "two-year"]
    filler = "pay and terms in the offer letter"
    sentences = [f"{filler[: 3 + (i * 7) % 30]} {words[i % len(words)]} offer." for i in range(60)]
    guide = tmp_path / "g.md"
    guide.write_text("# Compounds\n\n" + " ".join(sentences) + "\n", encoding="utf-8")
    out = tmp_path / "g.pdf"
    out.write_bytes(render_pdf(load_guide(guide), RenderOptions(as_of=AS_OF)))
    text = " ".join(pdftotext(out).split())
    for word in words:
        assert text.count(word) == 10, word
        assert word.replace("-", "") not in text  # never joined as if the hyphen were a soft one
