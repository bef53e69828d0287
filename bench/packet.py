"""Time packets against batches of the same guides, with the process tree's peak memory, as N grows.

    python bench/packet.py [--sizes 40,120,480] [--jobs 2] [--repeat 1]

For each size, N guides are generated into a temporary folder (seeds copied with varied companies and
figures), then rendered as a batch and as a packet, each from a cold start with no cache ("ratio" is
packet / batch), and once more as a packet written beside the batch's output, which reuses its briefs
("after" and "after MB").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from batch import BIN, make_guides, timed  # the sibling bench script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="40,120,480")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best time is shown")
    args = parser.parse_args()
    guidepdf = str(BIN / "guidepdf")
    # --no-check: the generated guides' figures no longer match their body tables (check would refuse)
    common = ["--as-of", "2026-11-23", "--jobs", str(args.jobs), "--no-check"]
    header = (
        "guides",
        "batch s",
        "batch MB",
        "packet s",
        "packet MB",
        "ratio",
        "after s",
        "after MB",
        "pages",
    )
    print(" ".join(f"{h:>9}" for h in header))
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            make_guides(root / "guides", size)
            batch_s = packet_s = after_s = float("inf")
            batch_mem = packet_mem = after_mem = 0
            # Alternate the two, each from a cold start, and keep each one's best time: the
            # machine is shared, and noise only ever adds time.
            for run in range(args.repeat):
                out, packet = root / f"out{run}", root / f"packet{run}" / "packet.pdf"
                guides = str(root / "guides")
                seconds, memory, _ = timed([guidepdf, "render", guides, "-o", str(out), *common])
                batch_s, batch_mem = min(batch_s, seconds), max(batch_mem, memory)
                seconds, memory, done = timed([guidepdf, "packet", guides, "-o", str(packet), *common])
                packet_s, packet_mem = min(packet_s, seconds), max(packet_mem, memory)
                seconds, memory, _ = timed(
                    [guidepdf, "packet", guides, "-o", str(out / "packet.pdf"), *common]
                )
                after_s, after_mem = min(after_s, seconds), max(after_mem, memory)
            pages = done.stderr.strip().splitlines()[-1].rsplit(",", 1)[-1].strip()
            row = (size, f"{batch_s:.1f}", f"{batch_mem / 2**20:.0f}", f"{packet_s:.1f}")
            row += (f"{packet_mem / 2**20:.0f}", f"{packet_s / batch_s:.2f}", f"{after_s:.1f}")
            row += (f"{after_mem / 2**20:.0f}", pages)
            print(" ".join(f"{v!s:>9}" for v in row), flush=True)


if __name__ == "__main__":
    main()
