"""The range chart: front-matter figures on per-region scales, null regions labelled, text alternative."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from conftest import SEEDS, pdftotext, structure_elements
from guidepdf import RenderOptions, load_guide, render_pdf
from guidepdf.chart import build_chart
from guidepdf.guide import Compensation
from guidepdf.templating import build_page

AS_OF = date(2026, 11, 23)
REFERENCE = Path(__file__).parent / "data" / "reference.md"


def without_body_figures(folder: Path) -> Path:
    """The reference guide with its body table's region rows taken out: London and Hong Kong then
    have no figures anywhere (with the rows, the brief shows the body's figures for them)."""
    text = REFERENCE.read_text(encoding="utf-8")
    path = folder / "reference.md"
    path.write_text("".join(line for line in text.splitlines(True) if not line.startswith("| **")), "utf-8")
    return path


def page_html(path: Path) -> str:
    return build_page(load_guide(path), RenderOptions(as_of=AS_OF)).html


def test_every_region_gets_a_row_on_its_own_scale() -> None:
    chart = build_chart(load_guide(SEEDS / "aurelian-systems-engineering-manager.md").compensation)
    assert [row.currency for row in chart.rows] == ["USD", "GBP", "CHF", "JPY"]
    for row in chart.rows:
        assert max(bar.end for bar in row.bars) == pytest.approx(1.0)  # own scale: the top figure spans it
        total = next(bar for bar in row.bars if bar.kind == "total")
        for part in row.bars:
            assert 0 <= part.start <= part.end <= total.end
    tokyo = chart.rows[3]
    assert tokyo.bars[0].label == "¥27.50M–¥41.40M"
    assert chart.mixed_currencies


def test_null_regions_are_kept_and_described_as_having_no_figures() -> None:
    chart = build_chart(load_guide(REFERENCE).compensation)
    assert [row.region for row in chart.rows] == ["New York (HQ)", "London", "Hong Kong"]
    assert [row.has_figures for row in chart.rows] == [True, False, False]
    assert [bar.kind for bar in chart.rows[0].bars] == ["total", "base", "bonus"]  # no stock: no stock bar
    assert "London (GBP): no figures." in chart.description
    assert "New York (HQ) (USD): total $525K–$775K; base $250K–$350K; bonus $275K–$425K." in chart.description


def test_bonus_given_only_as_a_percentage_is_estimated_from_base() -> None:
    row = build_chart([Compensation(region="SG", currency="SGD", base_low=100, base_high=200, bonus_pct=10)])
    bonus = row.rows[0].bars[-1]
    assert (bonus.kind, bonus.label, bonus.estimated) == ("bonus", "10% of base", True)
    assert (bonus.start, bonus.end) == pytest.approx((0.05, 0.1))
    alone = build_chart([Compensation(region="X", bonus_pct=12)]).rows[0]
    assert [(b.label, b.end) for b in alone.bars] == [("12% of base", 0.0)]


def test_chart_sits_in_the_glance_panel_with_a_text_alternative(tmp_path: Path) -> None:
    html = page_html(without_body_figures(tmp_path))
    glance = html[html.index('<section class="glance"') : html.index("</section>")]
    assert glance.count("<svg") == 1 and html.count("<svg") == 1
    svg = glance[glance.index("<svg") : glance.index("</svg>")]
    assert (
        'role="img"' in svg
        and 'aria-labelledby="chart-jane-street-ml-ai-engineer-title chart-jane-street-ml-ai-engineer-desc"'
        in svg
    )
    title = re.search(r"<title[^>]*>(.*?)</title>", svg, re.S)
    assert title and "Hong Kong (HKD): no figures." in title.group(1)
    assert svg.count("no figures") == 4  # two rows drawn, two named in the title; nothing dropped


def test_guide_content_cannot_smuggle_svg(tmp_path: Path) -> None:
    guide = tmp_path / "g.md"
    guide.write_text('# Hi\n\n<svg onload="alert(1)"><circle r="5"/></svg>\n\n<img src="x.svg">\n')
    html = page_html(guide)
    assert "<svg" not in html and "<circle" not in html  # no regions: no chart, and the body's svg is gone


@pytest.fixture(scope="module")
def reference_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chart") / "brief.pdf"
    guide = load_guide(without_body_figures(path.parent))
    path.write_bytes(render_pdf(guide, RenderOptions(as_of=AS_OF)))
    return path


def test_reader_sees_the_chart_labels_and_caption(reference_pdf: Path) -> None:
    text = pdftotext(reference_pdf)
    assert text.count("no figures") == 2
    assert "own scale in its own currency" in " ".join(text.split())


def test_tagged_figure_carries_the_description_as_alt_text(reference_pdf: Path) -> None:
    figures = [node for node in structure_elements(reference_pdf) if node.get("/S") == "/Figure"]
    alts = [str(node.get("/Alt", "")) for node in figures]
    assert any("London (GBP): no figures." in alt for alt in alts), alts


def test_hostile_region_names_are_text_in_the_chart(tmp_path: Path) -> None:
    guide = tmp_path / "g.md"
    guide.write_text(
        "---\ncompensation:\n"
        "  - {region: '</text><script>alert(1)</script>', currency: USD, base_low: 1, base_high: 2}\n"
        "  - {region: '{{ 7 * 7 }}', currency: '\"><svg onload=x>'}\n"
        "---\nBody\n"
    )
    html = page_html(guide)
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "<script" not in svg and "onload=x>" not in svg and ">49<" not in svg
    assert "&lt;/text&gt;&lt;script&gt;" in svg and "{{ 7 * 7 }}" in svg
