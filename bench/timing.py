"""Shared by the bench scripts: time a callable several times."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def best_and_median(func: Callable[[], object], runs: int) -> tuple[float, float]:
    """Best and median seconds of `runs` calls of `func`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)
