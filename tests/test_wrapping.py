"""A 300-character word and a 400-character URL wrap inside the page box in the brief and the packet."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import DATA
from guidepdf.breaks import soft_breaks
from guidepdf.cli import main
from guidepdf.markup import LONG_TAG

WORD = "Supercalifragilistic" * 15  # 300 characters, no break opportunity
URL = "https://example.com/" + "a1b2c3d4e5" * 38  # 400 characters
WIDE = "W" * LONG_TAG  # the widest tag kept on one line, in its widest letter
MARGIN = 17 * 72 / 25.4  # the built-in theme's left and right page margins, in points
SLACK = 1.0  # glyph side bearings


def long_guide(folder: Path) -> Path:
    path = folder / "long.md"
    path.write_text(
        f"""---
company: {WORD[:120]}
role: {WORD[:80]}
title: "Title {WORD}"
data_sources: ["{URL}", "{WORD}"]
negotiation_dna_summary: "`{WORD}` `short` `{WIDE}`"
compensation:
  - {{region: "{WORD[:200]}", currency: USD, base_low: 100000, base_high: 200000,
      total_comp_low: 123456789012, total_comp_high: 987654321098}}
  - {{region: "{WORD}", currency: EUR}}
---
# Heading {WORD}

Para {WORD} and a link <{URL}> and [text]({URL}).

| Col {WORD} | B |
|---|---|
| {URL} | {WORD} |

- item {WORD}

> quote {URL}

`{WORD}`

    code {URL}

1. **{WORD}:** lever
""",
        encoding="utf-8",
    )
    return path


def words(pdf: Path) -> list[tuple[int, float, float, float, str]]:
    """(page, page width, xMin, xMax, text) of every word pdftotext finds."""
    xml = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    found = []
    for number, page in enumerate(re.findall(r"<page (.*?)</page>", xml, re.S), start=1):
        width = float(re.search(r'width="([\d.]+)"', page).group(1))  # type: ignore[union-attr]
        for x_min, x_max, text in re.findall(
            r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>([^<]*)<', page
        ):
            found.append((number, width, float(x_min), float(x_max), text))
    return found


def outside(pdf: Path) -> list[str]:
    return [
        f"page {page}: {text[:40]}… at {x_min:.1f}–{x_max:.1f} of {width:.1f}"
        for page, width, x_min, x_max, text in words(pdf)
        if x_max > width - MARGIN + SLACK or x_min < MARGIN - SLACK
    ]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wrap")
    long_guide(path)
    (path / "reference.md").write_text((DATA / "reference.md").read_text(encoding="utf-8"), encoding="utf-8")
    return path


@pytest.mark.parametrize("page_size", ["A4", "Letter"])
def test_brief_keeps_long_words_inside_the_margins(folder: Path, page_size: str) -> None:
    out = folder / f"brief-{page_size}.pdf"
    args = [
        "render",
        str(folder / "long.md"),
        "-o",
        str(out),
        "--as-of",
        "2026-11-23",
        "--page-size",
        page_size,
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    found = words(out)
    assert (
        sum(len(text) for *_, text in found if "Supercalifragilistic" in text) > 3000
    )  # the words are there
    assert outside(out) == []


@pytest.mark.slow
def test_packet_keeps_long_words_inside_the_margins(folder: Path) -> None:
    out = folder / "packet.pdf"
    args = ["packet", str(folder / "long.md"), str(folder / "reference.md"), "-o", str(out)]
    result = CliRunner().invoke(main, [*args, "--title", f"Packet {WORD}"])
    assert result.exit_code == 0, result.output
    assert any("a1b2c3d4e5" in text for *_, text in words(out))
    assert outside(out) == []


def test_soft_breaks_only_touch_long_words_outside_tags() -> None:
    html = f'<p class="x">short words stay <a href="{URL}">{URL}</a> &amp; {WORD}&amp;x</p>'
    broken = soft_breaks(html)
    assert broken.replace("<wbr>", "") == html  # nothing but break opportunities is added
    assert f'href="{URL}"' in broken  # attributes untouched
    assert "short words stay" in broken
    assert max(len(part) for part in re.split(r"<wbr>|<[^>]+>|\s", broken)) <= 12 * len("&amp;")
    assert "&am<wbr>" not in broken and "&<wbr>amp;" not in broken
