"""Time a cold single brief against pandoc with WeasyPrint on the same guide, alternating the two.

    python bench/cold.py [GUIDE] [--runs N]

Each run is a fresh process: `guidepdf render GUIDE -o brief.pdf`, then `pandoc GUIDE
--pdf-engine=weasyprint -o pandoc.pdf` (Markdown to HTML, then the `weasyprint` command installed
beside this Python, so both sides use the same WeasyPrint). The two commands take turns, so a busy
machine slows both alike. Prints best and median seconds of each and their ratios.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GUIDE = ROOT / "seeds" / "kestrel-games-product-designer.md"


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guide", nargs="?", type=Path, default=DEFAULT_GUIDE)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    pandoc = shutil.which("pandoc")
    if pandoc is None:
        sys.exit("pandoc is not installed")
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        ours = [str(bindir / "guidepdf"), "render", str(args.guide), "-o", str(out / "brief.pdf"), "--force"]
        theirs = [pandoc, str(args.guide), "--pdf-engine=weasyprint", "-o", str(out / "pandoc.pdf")]
        timed(ours, env)  # the first run of each fills the page cache and Python's bytecode cache
        timed(theirs, env)
        times: dict[str, list[float]] = {"guidepdf": [], "pandoc": []}
        for _ in range(args.runs):
            times["guidepdf"].append(timed(ours, env))
            times["pandoc"].append(timed(theirs, env))
    print(f"guide: {args.guide.name}, {args.runs} runs each, alternating, seconds per brief (cold process)")
    print(f"{'':40} {'best':>7} {'median':>7}")
    rows = {name: (min(t), statistics.median(t)) for name, t in times.items()}
    for name, label in (("guidepdf", "guidepdf render"), ("pandoc", "pandoc --pdf-engine=weasyprint")):
        print(f"{label:40} {rows[name][0]:7.3f} {rows[name][1]:7.3f}")
    best = rows["guidepdf"][0] / rows["pandoc"][0]
    median = rows["guidepdf"][1] / rows["pandoc"][1]
    print(f"guidepdf / pandoc: {best:.2f}x (best), {median:.2f}x (median)")


if __name__ == "__main__":
    main()
