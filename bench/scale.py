"""How guidepdf grows with a library: 100, 1,000, 10,000 guides through every command, in one run.

    python bench/scale.py [--sizes 100,1000] [--jobs 2] [--skip email,packet]

For each size, N guides are generated (seeds copied with varied companies and figures) and run
through: a batch (`render`), the same batch again with nothing changed, one packet of all of them,
one packet per company (`--group-by company`), a mail-merge dry run with one CSV row per guide, and
`check`. Each line shows wall time, the peak memory of the command's own process and of its whole
process tree (workers included), and the output's size where there is one; the last columns divide
by N, so a figure that stays put as N grows is linear and one that climbs is not.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from batch import BIN, PeakMemory, make_guides  # the sibling bench script

MB = 2**20


def run(args: list[str]) -> tuple[float, int, int, subprocess.CompletedProcess[str]]:
    """Wall time, own peak RSS, tree peak RSS, and the finished command."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(proc.pid)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    tree = memory.stop()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{err[-2000:]}")
    return seconds, memory.main_peak, tree, subprocess.CompletedProcess(args, proc.returncode, out, err)


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip", default="", help="commas: batch,rerun,packet,group,email,check")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    guidepdf = str(BIN / "guidepdf")
    # --no-check: the generated guides' figures no longer match their body tables (check would refuse)
    common = ["--as-of", "2026-11-23", "--quiet", "--no-check"]
    jobs = ["--jobs", str(args.jobs)]
    print(
        f"{'guides':>7} {'command':<10} {'s':>8} {'own MB':>7} {'tree MB':>8} {'out MB':>8} "
        f"{'ms/guide':>9} {'KB/guide':>9}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            guides = root / "guides"
            paths = make_guides(guides, size)
            with (guides / "recipients.csv").open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["email", "name", "guides"])
                for n, path in enumerate(paths):
                    writer.writerow([f"person{n}@example.com", f"Person {n}", path.name])
            steps = {
                "batch": [guidepdf, "render", str(guides), "-o", str(root / "out"), *jobs, *common],
                "rerun": [guidepdf, "render", str(guides), "-o", str(root / "out"), *jobs, *common],
                "packet": [
                    guidepdf,
                    "packet",
                    str(guides),
                    "-o",
                    str(root / "p" / "all.pdf"),
                    *jobs,
                    *common,
                ],
                "group": [
                    guidepdf,
                    "packet",
                    str(guides),
                    "-o",
                    str(root / "g"),
                    "--group-by",
                    "company",
                    *jobs,
                    *common,
                ],
                "email": [
                    guidepdf,
                    "email",
                    "--recipients",
                    str(guides / "recipients.csv"),
                    "--from",
                    "coach@example.org",
                    "--dry-run",
                    "--eml",
                    str(root / "eml"),
                    "--as-of",
                    "2026-11-23",
                    "--no-check",
                ],
                "check": [guidepdf, "check", str(guides), "--as-of", "2026-11-23"],
            }
            outputs = {
                "batch": root / "out",
                "packet": root / "p" / "all.pdf",
                "group": root / "g",
                "email": root / "eml",
            }
            for name, command in steps.items():
                if name in skip:
                    continue
                seconds, own, tree, _ = run(command)
                out = outputs.get(name)
                out_mb = f"{size_of(out) / MB:.1f}" if out is not None and out.exists() else ""
                per_kb = f"{size_of(out) / size / 1024:.0f}" if out is not None and out.exists() else ""
                print(
                    f"{size:>7} {name:<10} {seconds:>8.1f} {own / MB:>7.0f} {tree / MB:>8.0f} {out_mb:>8} "
                    f"{1000 * seconds / size:>9.1f} {per_kb:>9}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
