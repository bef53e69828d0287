"""`guidepdf preview` saves one page of a brief, or of any PDF, as a PNG of the requested size."""

from __future__ import annotations

import builtins
import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from conftest import DATA
from guidepdf.cli import main
from guidepdf.preview import page_png

REFERENCE = DATA / "reference.md"


@pytest.fixture(scope="module")
def brief(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("preview") / "brief.pdf"
    result = CliRunner().invoke(main, ["render", str(REFERENCE), "-o", str(out), "--as-of", "2026-11-23"])
    assert result.exit_code == 0, result.output
    return out


def test_preview_of_a_guide_is_the_page_at_the_dpi(tmp_path: Path) -> None:
    out = tmp_path / "p1.png"
    args = ["preview", str(REFERENCE), "-o", str(out), "--dpi", "60", "--as-of", "2026-11-23"]
    result = CliRunner().invoke(main, [*args, "--page-size", "Letter"])
    assert result.exit_code == 0, result.output
    image = Image.open(out)
    assert image.size == (510, 660)  # 8.5 × 11 in at 60 dpi
    assert image.convert("L").getextrema()[0] < 60  # there is dark ink on it: the title


def test_preview_of_a_pdf_page_and_both_backends_agree(
    brief: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "p2.png"
    result = CliRunner().invoke(main, ["preview", str(brief), "-o", str(out), "--page", "2", "--dpi", "50"])
    assert result.exit_code == 0, result.output
    with_pdfium = Image.open(out).convert("L")
    real_import = builtins.__import__

    def no_pdfium(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pypdfium2":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pdfium)
    with_poppler = Image.open(io.BytesIO(page_png(brief.read_bytes(), 2, 50))).convert("L")
    for size in (with_pdfium.size, with_poppler.size):  # A4 at 50 dpi; the two round differently
        assert abs(size[0] - 413) <= 1 and abs(size[1] - 585) <= 1
    histogram = with_pdfium.histogram()
    dark_pdfium = sum(histogram[:128]) / sum(histogram)
    histogram = with_poppler.histogram()
    dark_poppler = sum(histogram[:128]) / sum(histogram)
    assert dark_pdfium > 0.005 and abs(dark_pdfium - dark_poppler) < 0.01  # the same page, inked alike


def test_page_out_of_range_is_a_usage_error(brief: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["preview", str(brief), "-o", str(tmp_path / "x.png"), "--page", "9"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --page 9: the PDF has 3 pages"
    assert not (tmp_path / "x.png").exists()


def test_a_broken_pdf_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7\nnot really")
    result = CliRunner().invoke(main, ["preview", str(bad), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {bad}: not a readable PDF")
    assert "Traceback" not in result.output
