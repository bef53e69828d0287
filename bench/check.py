"""Time `guidepdf check` on the seeds and on many generated guides, with libyaml's parser and without.

    python bench/check.py [--guides 1000] [--runs 3]

Guides are the seeds copied over and over, each copy a different company (figures unchanged, so
the copies check like their seeds). Prints the command's wall and CPU time (a fresh process:
start-up and imports included; on a busy machine CPU time is the steadier figure) and, in this
process, check's CPU time against the pure-Python parser and against converting every body.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


def make_guides(folder: Path, count: int) -> Path:
    """`count` guides in `folder`: the seeds again and again under other company names."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "images").mkdir(exist_ok=True)
    for image in (SEEDS / "images").iterdir():
        (folder / "images" / image.name).write_bytes(image.read_bytes())
    seeds = sorted(SEEDS.glob("*.md"))
    for n in range(count):
        seed = seeds[n % len(seeds)]
        text = seed.read_text(encoding="utf-8")
        text = re.sub(r"^company: (.+)$", rf"company: \1-{n}", text, count=1, flags=re.M)
        (folder / f"{n:05d}-{seed.name}").write_text(text, encoding="utf-8")
    return folder


def command_seconds(folder: Path, runs: int) -> tuple[float, float]:
    """Best wall and best CPU (user + system) seconds of the command in a fresh process."""
    args = [sys.executable, "-m", "guidepdf", "check", str(folder), "--as-of", "2026-11-23"]
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(args, capture_output=True, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def in_process(folder: Path, runs: int) -> tuple[float, float, float]:
    """CPU seconds of check in this process: as it is; with the pure-Python YAML parser; and with that
    and every body's Markdown converted, as check did before it skipped bodies with nothing to find."""
    from datetime import date

    from guidepdf import check, guide

    def cpu() -> float:
        started = time.process_time()
        check.check_paths([folder], date(2026, 11, 23))
        return time.process_time() - started

    def best() -> float:
        return min(cpu() for _ in range(runs))

    now = best()
    saved_loader, saved_scan = guide._FastLoader, check.needs_scan
    try:
        guide._FastLoader = None  # as on a machine without libyaml
        pure = best()
        check.needs_scan = lambda body: True  # type: ignore[assignment]
        before = best()
    finally:
        guide._FastLoader, check.needs_scan = saved_loader, saved_scan
    return now, pure, before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guides", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import yaml

    print(f"libyaml available: {getattr(yaml, '__with_libyaml__', False)}")
    with tempfile.TemporaryDirectory() as tmp:
        many = make_guides(Path(tmp) / "guides", args.guides)
        seeds = len(list(SEEDS.glob("*.md")))
        for label, folder in ((f"{seeds} seeds", SEEDS), (f"{args.guides} guides", many)):
            wall, cpu = command_seconds(folder, args.runs)
            now, pure, before = in_process(folder, args.runs)
            print(
                f"{label}: guidepdf check {wall:.2f} s wall, {cpu:.2f} s CPU (fresh process, best of "
                f"{args.runs}); CPU in process: {now:.2f} s, {pure:.2f} s with pure-Python YAML, "
                f"{before:.2f} s also converting every body ({before / now:.1f}x)"
            )


if __name__ == "__main__":
    main()
