"""Memory that stays flat: a batch's main process records each result and lets its bytes go."""

from __future__ import annotations

import shutil
import tracemalloc
from pathlib import Path

from guidepdf.batch import render_batch
from guidepdf.options import RenderOptions

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def batch_peak(folder: Path, count: int) -> tuple[int, int]:
    """(peak bytes the main process allocated, bytes of briefs written) for a batch of `count` guides."""
    guides = folder / "g"
    guides.mkdir(parents=True)
    shutil.copytree(SEEDS / "images", guides / "images")
    seeds = sorted(SEEDS.glob("*.md"))
    for i in range(count):
        shutil.copy(seeds[i % len(seeds)], guides / f"g{i:02d}.md")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = render_batch(sorted(guides.glob("*.md")), folder / "out", RenderOptions(), jobs=2)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert result.count("rendered") == count
    return peak, sum(item.bytes or 0 for item in result.items)


def test_the_main_process_does_not_keep_the_briefs_it_writes(tmp_path: Path) -> None:
    small_peak, small_written = batch_peak(tmp_path / "small", 6)
    large_peak, large_written = batch_peak(tmp_path / "large", 24)
    # What is paid once (the theme read for the workers, about 1 MB) cancels out; keeping every brief
    # would add at least the 18 extra briefs' bytes (about 1.4 MB), one small row each does not.
    growth = large_peak - small_peak
    assert growth < 0.3 * (large_written - small_written), (growth, large_written - small_written)
