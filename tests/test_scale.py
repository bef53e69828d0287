"""Memory that stays flat: a batch's main process records each result and lets its bytes go."""

from __future__ import annotations

import shutil
import tracemalloc
from pathlib import Path

from guidepdf.batch import render_batch
from guidepdf.options import RenderOptions

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def test_the_main_process_does_not_keep_the_briefs_it_writes(tmp_path: Path) -> None:
    guides = tmp_path / "g"
    guides.mkdir()
    shutil.copytree(SEEDS / "images", guides / "images")  # a guide whose image is missing is not rendered
    seeds = sorted(SEEDS.glob("*.md"))
    for i in range(24):
        shutil.copy(seeds[i % len(seeds)], guides / f"g{i:02d}.md")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = render_batch(sorted(guides.glob("*.md")), tmp_path / "out", RenderOptions(), jobs=2)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    written = sum(item.bytes or 0 for item in result.items)
    assert result.count("rendered") == 24
    # Keeping every brief would cost at least `written` (1.9 MB); what stays is the theme read once
    # (about 1 MB of fonts) and one small row per guide.
    assert peak < 0.75 * written, (peak, written)
