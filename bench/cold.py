"""Time a cold single brief against pandoc with WeasyPrint on the same guide, alternating the two.

    python bench/cold.py [GUIDE] [--runs N] [--ref COMMIT]

Each run is a fresh process: `guidepdf render GUIDE -o brief.pdf`, then `pandoc GUIDE
--pdf-engine=weasyprint -o pandoc.pdf` (Markdown to HTML, then the `weasyprint` command installed
beside this Python, so both sides use the same WeasyPrint). The commands take turns, so a busy
machine slows them alike. With `--ref`, the guidepdf of that commit (a temporary `git worktree`)
takes its turn too, and both guidepdf runs are `python -m guidepdf` with that tree's sources first
on the path. Prints best and median seconds of each and their ratios to pandoc, in wall-clock time
and in CPU time (user + system, the command's processes together), which a machine shared with other
work disturbs less.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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


@contextlib.contextmanager
def worktree(commit: str, folder: Path) -> Iterator[Path]:
    """A temporary `git worktree` of `commit` in `folder`, removed afterwards."""
    tree = folder / "ref"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit],
        check=True,
        capture_output=True,
    )
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guide", nargs="?", type=Path, default=DEFAULT_GUIDE)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--ref", help="also time the guidepdf of this commit, in the same turns")
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
    guide = str(args.guide.resolve())
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        out = Path(tmp)
        render = ["render", guide, "-o", str(out / "brief.pdf"), "--force"]
        commands: dict[str, tuple[list[str], dict[str, str]]] = {}
        if args.ref is None:
            commands["guidepdf render"] = ([str(bindir / "guidepdf"), *render], env)
        else:
            tree = stack.enter_context(worktree(args.ref, out))
            module = [sys.executable, "-m", "guidepdf", *render]
            for label, src in (("guidepdf render", ROOT / "src"), (f"guidepdf at {args.ref}", tree / "src")):
                commands[label] = (module, {**env, "PYTHONPATH": str(src)})
        commands["pandoc --pdf-engine=weasyprint"] = (
            [pandoc, guide, "--pdf-engine=weasyprint", "-o", str(out / "pandoc.pdf")],
            env,
        )
        for command, command_env in commands.values():
            timed(command, command_env)  # the first run of each fills the page cache and the bytecode cache
        times: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
        for _ in range(args.runs):
            for label, (command, command_env) in commands.items():
                times[label].append(timed(command, command_env))
    print(f"guide: {args.guide.name}, {args.runs} runs each, alternating, seconds per brief (cold process)")
    print(f"{'':32} {'wall best':>10} {'wall median':>12} {'cpu best':>9} {'cpu median':>11}")
    rows = {}
    for label, runs in times.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        rows[label] = (min(walls), statistics.median(walls), min(cpus), statistics.median(cpus))
        cells = (f"{value:{width}.3f}" for value, width in zip(rows[label], (10, 12, 9, 11), strict=True))
        print(f"{label:32} " + " ".join(cells))
    pandoc_row = rows["pandoc --pdf-engine=weasyprint"]
    for label in list(rows)[:-1]:
        ratios = [ours / theirs for ours, theirs in zip(rows[label], pandoc_row, strict=True)]
        name = label.removesuffix(" render")
        print(f"{name} / pandoc, wall: {ratios[0]:.2f}x (best), {ratios[1]:.2f}x (median)")
        print(f"{name} / pandoc, cpu:  {ratios[2]:.2f}x (best), {ratios[3]:.2f}x (median)")


if __name__ == "__main__":
    main()
