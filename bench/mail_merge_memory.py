"""Peak memory of a long mail merge written as .eml files: all messages held at once, against streamed.

    python bench/mail_merge_memory.py [--rows N] [--guides G]

Makes a recipients CSV of N rows over G sample guides (each row attaches one guide) and runs the
merge twice in fresh processes: `held` builds every message first (`plan_messages`, then
`write_eml`), as `guidepdf email` did before; `streamed` is `guidepdf email --recipients … --eml …`,
which builds, writes and lets go of one message at a time. Prints each run's peak RSS (ru_maxrss)
and seconds; the two runs are measured in the same invocation so they can be compared.
"""

from __future__ import annotations

import argparse
import csv
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "seeds").glob("*.md"))
SENDER = "coach@example.org"

HELD = """
import sys
from pathlib import Path
from guidepdf import RenderOptions
from guidepdf.mail import plan_messages, read_recipients, write_eml
from datetime import date
people, errors = read_recipients(sys.argv[1])
plan = plan_messages([], people, sender="{sender}", options=RenderOptions(as_of=date(2026, 11, 23)))
write_eml(plan.messages, Path(sys.argv[2]))
"""


def child(args: list[str]) -> tuple[float, float]:
    """Run a child process; its peak RSS in MB and its wall time in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    subprocess.run(args, check=True, capture_output=True)
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:  # ru_maxrss of children is the largest so far: run the larger case last
        raise SystemExit("run the streamed case first: ru_maxrss only grows")
    return peak / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--guides", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for seed in SEEDS[: args.guides]:
            shutil.copy(seed, folder / seed.name)
        with open(folder / "people.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["email", "name", "guides"])
            for i in range(args.rows):
                writer.writerow([f"person{i}@example.com", f"Person {i}", SEEDS[i % args.guides].name])
        streamed = child(
            [
                sys.executable, "-m", "guidepdf", "email", "--recipients", str(folder / "people.csv"),
                "--from", SENDER, "--as-of", "2026-11-23", "--eml", str(folder / "streamed"),
            ]
        )  # fmt: skip
        held = child(
            [
                sys.executable,
                "-c",
                HELD.format(sender=SENDER),
                str(folder / "people.csv"),
                str(folder / "held"),
            ]
        )
        count = len(list((folder / "streamed").glob("*.eml")))
        assert count == len(list((folder / "held").glob("*.eml"))) == args.rows, count
    print(f"{args.rows} rows over {args.guides} guides, {count} .eml files each way")
    print(f"streamed (guidepdf email): peak RSS {streamed[0]:.0f} MB, {streamed[1]:.1f} s")
    print(f"held (all messages first): peak RSS {held[0]:.0f} MB, {held[1]:.1f} s")


if __name__ == "__main__":
    main()
