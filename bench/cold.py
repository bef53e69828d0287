"""Time a cold single brief against pandoc with WeasyPrint on the same guide, alternating the two.

    python bench/cold.py [GUIDE] [--runs N]

Each run is a fresh process: `guidepdf render GUIDE -o brief.pdf`, then `pandoc GUIDE
--pdf-engine=weasyprint -o pandoc.pdf` (Markdown to HTML, then the `weasyprint` command installed
beside this Python, so both sides use the same WeasyPrint). The two commands take turns, so a busy
machine slows both alike. Prints best and median seconds of each and their ratios, in wall-clock time
and in CPU time (user + system, the command's processes together), which a machine shared with other
work disturbs less.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GUIDE = ROOT / "seeds" / "kestrel-games-product-designer.md"


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run of `command` (with the processes it starts)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guide", nargs="?", type=Path, default=DEFAULT_GUIDE)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    pandoc = shutil.which("pandoc")
    if pandoc is None:
        sys.exit("pandoc is not installed")
    bindir = Path(sys.executable).parent
    # The first runs fill Python's bytecode cache even where PYTHONDONTWRITEBYTECODE is set: an installed
    # guidepdf (like the WeasyPrint both commands use) has its bytecode, a checkout's would be compiled
    # from source on every run.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        ours = [str(bindir / "guidepdf"), "render", str(args.guide), "-o", str(out / "brief.pdf"), "--force"]
        theirs = [pandoc, str(args.guide), "--pdf-engine=weasyprint", "-o", str(out / "pandoc.pdf")]
        timed(ours, env)  # the first run of each fills the page cache and Python's bytecode cache
        timed(theirs, env)
        times: dict[str, list[tuple[float, float]]] = {"guidepdf": [], "pandoc": []}
        for _ in range(args.runs):
            times["guidepdf"].append(timed(ours, env))
            times["pandoc"].append(timed(theirs, env))
    print(f"guide: {args.guide.name}, {args.runs} runs each, alternating, seconds per brief (cold process)")
    print(f"{'':32} {'wall best':>10} {'wall median':>12} {'cpu best':>9} {'cpu median':>11}")
    rows = {}
    for name, runs in times.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        rows[name] = (min(walls), statistics.median(walls), min(cpus), statistics.median(cpus))
    for name, label in (("guidepdf", "guidepdf render"), ("pandoc", "pandoc --pdf-engine=weasyprint")):
        cells = (f"{value:{width}.3f}" for value, width in zip(rows[name], (10, 12, 9, 11), strict=True))
        print(f"{label:32} " + " ".join(cells))
    ratios = [ours / theirs for ours, theirs in zip(rows["guidepdf"], rows["pandoc"], strict=True)]
    print(f"guidepdf / pandoc, wall: {ratios[0]:.2f}x (best), {ratios[1]:.2f}x (median)")
    print(f"guidepdf / pandoc, cpu:  {ratios[2]:.2f}x (best), {ratios[3]:.2f}x (median)")


if __name__ == "__main__":
    main()
