"""Golden HTML for the templating stage: a fresh page is diffed against the saved one.

Regenerate after an intended template change with:
    GUIDEPDF_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_golden.py
and review the diff of tests/golden/ before committing it.
"""

from __future__ import annotations

import difflib
import os
from datetime import date
from pathlib import Path

import pytest

from conftest import DATA, SEEDS
from guidepdf import RenderOptions, __version__, load_guide
from guidepdf.templating import build_page

GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "reference": DATA / "reference.md",
    "kestrel-games-product-designer": SEEDS / "kestrel-games-product-designer.md",
    "brightmoor-analytics-data-scientist": SEEDS / "brightmoor-analytics-data-scientist.md",
}


def page_html(source: Path) -> str:
    html = build_page(load_guide(source), RenderOptions(as_of=date(2026, 11, 23))).html
    return html.replace(__version__, "VERSION")


@pytest.mark.parametrize("name", sorted(CASES))
def test_page_html_matches_golden(name: str) -> None:
    fresh = page_html(CASES[name])
    golden = GOLDEN / f"{name}.html"
    if os.environ.get("GUIDEPDF_UPDATE_GOLDEN"):
        golden.write_text(fresh, encoding="utf-8")
    saved = golden.read_text(encoding="utf-8")
    if fresh != saved:
        diff = "".join(
            difflib.unified_diff(saved.splitlines(True), fresh.splitlines(True), str(golden), "fresh", n=2)
        )
        pytest.fail(
            f"page HTML differs from {golden.name} (GUIDEPDF_UPDATE_GOLDEN=1 to accept):\n{diff[:4000]}"
        )
