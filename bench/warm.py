"""Time warm briefs of this checkout against a reference commit, in separate processes taking turns.

    python bench/warm.py [GUIDE ...] [--ref COMMIT] [--rounds N] [--renders K]

The reference commit is checked out in a temporary `git worktree`; each round starts one process per
tree (this checkout's first, then the reference's, swapping the order every round), which imports
that tree's guidepdf, renders every guide twice to warm up, then renders each K more times and reports
the seconds of each render. Prints best and median seconds per brief (wall clock and CPU time) of both
trees and how much faster this checkout is; given several guides, also each guide's CPU figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GUIDES = [ROOT / "seeds" / "kestrel-games-product-designer.md"]

CHILD = """
import json, sys, time
from guidepdf import RenderOptions, load_guide, render_pdf

options = RenderOptions().pinned()
guides = [load_guide(p) for p in json.loads(sys.argv[1])]
renders = int(sys.argv[2])
for _ in range(2):
    for guide in guides:
        render_pdf(guide, options)
wall, cpu = [], []
for _ in range(renders):
    for guide in guides:
        start, start_cpu = time.perf_counter(), time.process_time()
        render_pdf(guide, options)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
print(json.dumps({"wall": wall, "cpu": cpu}))
"""


def run_tree(src: Path, guides: list[Path], renders: int) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps([str(g) for g in guides]), str(renders)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=src.parent,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guides", nargs="*", type=Path, default=DEFAULT_GUIDES)
    parser.add_argument("--ref", default="8dd020f", help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--renders", type=int, default=3, help="timed renders of each guide per round")
    args = parser.parse_args()
    guides = [g.resolve() for g in args.guides]
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "ref"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.ref],
            check=True,
            capture_output=True,
        )
        try:
            trees = {"now": ROOT / "src", args.ref: tree / "src"}
            times: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in trees}
            for round_ in range(args.rounds):
                order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
                for name in order:
                    got = run_tree(trees[name], guides, args.renders)
                    for kind in ("wall", "cpu"):
                        times[name][kind].extend(got[kind])
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    names = ", ".join(g.name for g in guides)
    count = args.rounds * args.renders
    print(f"guides: {names}; {args.rounds} rounds x {args.renders} warm renders each ({count} per tree)")
    print(f"seconds per brief {'wall best':>10} {'wall median':>12} {'cpu best':>9} {'cpu median':>11}")
    stats = {}
    for name, kinds in times.items():
        stats[name] = {kind: (min(v), statistics.median(v)) for kind, v in kinds.items()}
        wall, cpu = stats[name]["wall"], stats[name]["cpu"]
        print(f"{name:17} {wall[0]:10.3f} {wall[1]:12.3f} {cpu[0]:9.3f} {cpu[1]:11.3f}")
    for kind in ("wall", "cpu"):
        now, ref = stats["now"][kind], stats[args.ref][kind]
        print(
            f"now vs {args.ref} ({kind}): {1 - now[0] / ref[0]:.1%} faster (best), "
            f"{1 - now[1] / ref[1]:.1%} faster (median)"
        )
    if len(guides) > 1:
        # Each run times the guides in turn, so a guide's renders are every n-th figure.
        print(f"per guide, CPU seconds best / median: now, {args.ref}, how much faster (best, median)")
        for i, guide in enumerate(guides):
            now_cpu = times["now"]["cpu"][i :: len(guides)]
            ref_cpu = times[args.ref]["cpu"][i :: len(guides)]
            best, median = (
                (min(now_cpu), min(ref_cpu)),
                (statistics.median(now_cpu), statistics.median(ref_cpu)),
            )
            print(
                f"  {guide.name}: {best[0]:.3f} / {median[0]:.3f}, {best[1]:.3f} / {median[1]:.3f}, "
                f"{1 - best[0] / best[1]:.1%}, {1 - median[0] / median[1]:.1%}"
            )


if __name__ == "__main__":
    main()
