"""Time the refusals: an oversized guide, an image bomb's header read, and `guidepdf check` on the seeds.

    python bench/limits.py [--runs N]

Prints milliseconds. An oversized file must be refused before it is read, an image bomb before it is
decoded, and `check` must stay far below a render (it never imports WeasyPrint).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import best_and_median  # bench/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from PIL import Image

    from guidepdf.errors import GuideError
    from guidepdf.guide import load_guide
    from guidepdf.images import oversize_reason

    guidepdf = str(Path(sys.executable).parent / "guidepdf")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        huge = folder / "huge.md"
        huge.write_text("---\ncompany: acme\n---\n" + "word " * 1_300_000, encoding="utf-8")
        bomb = folder / "bomb.png"
        Image.new("1", (20000, 20000)).save(bomb, optimize=True)
        bomb_bytes = bomb.read_bytes()

        def refuse_huge() -> None:
            try:
                load_guide(huge)
            except GuideError:
                return
            raise SystemExit("the oversized guide was not refused")

        def cli(*command: str) -> None:
            subprocess.run([guidepdf, *command], capture_output=True, check=False)

        rows = [
            (
                f"load_guide refuses a {huge.stat().st_size / 1e6:.1f} MB file",
                best_and_median(refuse_huge, args.runs),
            ),
            (
                f"header check of a {len(bomb_bytes) / 1e3:.0f} KB PNG declaring 20000x20000",
                best_and_median(lambda: oversize_reason(bomb_bytes), args.runs),
            ),
            (
                "guidepdf check <6 MB file> (whole command)",
                best_and_median(lambda: cli("check", str(huge)), args.runs),
            ),
            (
                "guidepdf check seeds/ (12 guides, whole command)",
                best_and_median(lambda: cli("check", str(ROOT / "seeds")), args.runs),
            ),
            ("guidepdf --help (whole command)", best_and_median(lambda: cli("--help"), args.runs)),
        ]
    width = max(len(label) for label, _ in rows)
    print(f"{'':{width}}  {'best ms':>9}  {'median ms':>9}")
    for label, (best, median) in rows:
        print(f"{label:{width}}  {best * 1000:9.3f}  {median * 1000:9.3f}")


if __name__ == "__main__":
    main()
