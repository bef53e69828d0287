"""The reference guide renders to a brief a reader can read back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from conftest import pdfinfo, pdftotext
from guidepdf import RenderOptions, load_guide, render_pdf


def test_reference_guide_renders(reference_guide: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "brief.pdf"
    pdf.write_bytes(render_pdf(load_guide(reference_guide), RenderOptions(as_of=date(2026, 11, 23))))
    text = pdftotext(pdf)
    assert "Jane Street — ML/AI Engineer" in text
    assert "$525K–$775K" in text
    assert "Review overdue" in text
    assert pdfinfo(pdf)["Title"] == "Jane Street — ML/AI Engineer"
