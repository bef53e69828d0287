"""How guidepdf grows with a library: 100, 1,000, 10,000 guides through every command, in one run.

    python bench/scale.py [--sizes 100,1000] [--jobs 2] [--skip email,packet] [--companies N]
                          [--reuse] [--work DIR]

For each size, N guides are generated (seeds copied with varied companies and figures) and run
through: a batch (`render`), the same batch again with nothing changed, one packet of all of them,
one packet per company (`--group-by company`), a mail-merge dry run with one CSV row per guide, and
`check`. Each line shows wall time, the peak memory of the command's own process and of its whole
process tree (workers included), and the output's size where there is one; the last columns divide
by N, so a figure that stays put as N grows is linear and one that climbs is not.

Each command runs cold in its own folder unless `--reuse` is given: then the packets and the mail
merge are made beside the batch's output and reuse its briefs, as a content team runs them after
`render` (how 10,000 guides fit in an afternoon). `--companies N` spreads each seed's copies over N
companies with several roles each, so a packet per company holds many guides. `--work DIR` keeps the
guides and every output in DIR (guides already there are used again) instead of a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from batch import BIN, PeakMemory, make_guides  # the sibling bench script

MB = 2**20


def run(args: list[str], cwd: Path | None = None) -> tuple[float, int, int, subprocess.CompletedProcess[str]]:
    """Wall time, own peak RSS, tree peak RSS, and the finished command."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
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
    parser.add_argument("--companies", type=int, default=None, help="spread copies over N companies")
    parser.add_argument("--reuse", action="store_true", help="packets and mail merge after the batch")
    parser.add_argument("--work", type=Path, default=None, help="keep guides and outputs here")
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
        with contextlib.ExitStack() as stack:
            if args.work is None:
                root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            else:
                root = args.work / str(size)
            guides = root / "guides"
            if (guides / "recipients.csv").exists():
                paths = sorted(guides.glob("*.md"))
            else:
                paths = make_guides(guides, size, args.companies)
                with (guides / "recipients.csv").open("w", newline="", encoding="utf-8") as handle:
                    writer = csv.writer(handle)
                    writer.writerow(["email", "name", "guides"])
                    for n, path in enumerate(paths):
                        writer.writerow([f"person{n}@example.com", f"Person {n}", path.name])
            out = root / "out"
            packet = out / "packet.pdf" if args.reuse else root / "p" / "all.pdf"
            group = out if args.reuse else root / "g"
            # The mail merge's briefs go to ./out: the batch's when reusing it, else a folder of its own.
            mail_dir = root if args.reuse else root / "mail"
            mail_dir.mkdir(parents=True, exist_ok=True)
            steps = {
                "batch": [guidepdf, "render", str(guides), "-o", str(out), *jobs, *common],
                "rerun": [guidepdf, "render", str(guides), "-o", str(out), *jobs, *common],
                "packet": [guidepdf, "packet", str(guides), "-o", str(packet), *jobs, *common],
                "group": [
                    guidepdf,
                    "packet",
                    str(guides),
                    "-o",
                    str(group),
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
                    *jobs,
                    *common,
                ],
                "check": [guidepdf, "check", str(guides), "--as-of", "2026-11-23"],
            }
            outputs = {
                "batch": out,
                "packet": packet,
                "group": group,
                "email": root / "eml",
            }
            for name, command in steps.items():
                if name in skip:
                    continue
                seconds, own, tree, _ = run(command, cwd=mail_dir if name == "email" else None)
                made = outputs.get(name)
                if name == "group" and args.reuse:
                    made = None  # beside the briefs: its size is not told apart from theirs
                out_mb = f"{size_of(made) / MB:.1f}" if made is not None and made.exists() else ""
                per_kb = f"{size_of(made) / size / 1024:.0f}" if made is not None and made.exists() else ""
                print(
                    f"{size:>7} {name:<10} {seconds:>8.1f} {own / MB:>7.0f} {tree / MB:>8.0f} {out_mb:>8} "
                    f"{1000 * seconds / size:>9.1f} {per_kb:>9}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
