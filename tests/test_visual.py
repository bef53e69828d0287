"""Visual regression: fixed guides rendered to small PNGs match the stored references within a tolerance.

Regenerate the references after an intended change of look (then view the PNGs before committing):

    python tests/test_visual.py --update
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # so `python tests/test_visual.py --update` works from a checkout

from guidepdf import RenderOptions, load_guide, render_pdf  # noqa: E402

REFERENCES = Path(__file__).resolve().parent / "visual"
DPI = 50
AS_OF = date(2026, 11, 23)
#: Mean absolute difference per channel (0–255) above which a page has changed.
MAX_MEAN_DIFF = 1.5
#: Share of pixels differing by more than `PIXEL_THRESHOLD` above which a page has changed.
MAX_CHANGED_SHARE = 0.004
PIXEL_THRESHOLD = 48


@dataclass(frozen=True)
class Case:
    """One reference image: a guide, a page and the options it is rendered with."""

    name: str
    guide: Path
    page: int = 0
    page_size: str = "A4"


CASES = (
    Case("reference-p1", ROOT / "tests" / "data" / "reference.md"),
    Case("reference-p2", ROOT / "tests" / "data" / "reference.md", page=1),
    Case(
        "brightmoor-p1-letter", ROOT / "seeds" / "brightmoor-analytics-data-scientist.md", page_size="Letter"
    ),
    Case("halden-p1", ROOT / "seeds" / "halden-bank-quant-researcher.md"),
    Case("gfm-p1", ROOT / "tests" / "data" / "gfm.md"),  # task boxes, nesting, numbers, strike, fences
)


def render_png(case: Case, styles: tuple[Path, ...] = ()) -> bytes:
    """The case's page as PNG bytes at `DPI`."""
    import pypdfium2

    options = RenderOptions(as_of=AS_OF, page_size=case.page_size, styles=styles)
    pdf = pypdfium2.PdfDocument(render_pdf(load_guide(case.guide), options))
    try:
        image = pdf[case.page].render(scale=DPI / 72).to_pil().convert("RGB")
    finally:
        pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def difference(expected: bytes, actual: bytes) -> tuple[float, float]:
    """(mean absolute difference per channel, share of pixels differing by more than the threshold)."""
    from PIL import Image, ImageChops

    a = Image.open(io.BytesIO(expected)).convert("RGB")
    b = Image.open(io.BytesIO(actual)).convert("RGB")
    if a.size != b.size:
        return 255.0, 1.0
    diff = ImageChops.difference(a, b)
    histogram = diff.histogram()  # 3 × 256 bins, one set per channel
    pixels = a.size[0] * a.size[1]
    mean = sum((i % 256) * n for i, n in enumerate(histogram)) / (3 * pixels)
    changed = sum(diff.convert("L").histogram()[PIXEL_THRESHOLD + 1 :])
    return mean, changed / pixels


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return {case.name: render_png(case) for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_page_matches_its_reference(case: Case, rendered: dict[str, bytes], tmp_path: Path) -> None:
    reference = REFERENCES / f"{case.name}.png"
    assert reference.is_file(), f"no reference image {reference}: run python tests/test_visual.py --update"
    actual = rendered[case.name]
    mean, changed = difference(reference.read_bytes(), actual)
    if mean > MAX_MEAN_DIFF or changed > MAX_CHANGED_SHARE:
        (tmp_path / f"{case.name}.actual.png").write_bytes(actual)
    assert mean <= MAX_MEAN_DIFF and changed <= MAX_CHANGED_SHARE, (
        f"{case.name}: mean difference {mean:.2f}, {changed:.2%} of pixels changed; the new page is "
        f"{tmp_path / (case.name + '.actual.png')} (if intended: python tests/test_visual.py --update)"
    )


def test_the_comparison_notices_a_visible_change(rendered: dict[str, bytes], tmp_path: Path) -> None:
    css = tmp_path / "no-chart.css"
    css.write_text(".range-chart { display: none; }\n")
    case = CASES[0]
    changed = render_png(case, styles=(css,))
    mean, share = difference(rendered[case.name], changed)
    assert mean > MAX_MEAN_DIFF or share > MAX_CHANGED_SHARE
    assert difference(rendered[case.name], rendered[case.name]) == (0.0, 0.0)


def update() -> None:
    """Write every reference image afresh."""
    REFERENCES.mkdir(exist_ok=True)
    for case in CASES:
        path = REFERENCES / f"{case.name}.png"
        path.write_bytes(render_png(case))
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_visual.py --update")
    update()
