"""Time the refusals: an oversized guide, an image bomb's header read, and `guidepdf check` on the seeds;
then the Markdown stage on hostile bodies, at two sizes, to show which grow faster than their size.

    python bench/limits.py [--runs N]

Prints milliseconds. An oversized file must be refused before it is read, an image bomb before it is
decoded, and `check` must stay far below a render (it never imports WeasyPrint). For the Markdown
bodies, a ratio near 4 between the two sizes (4x the input) is linear; 16 is quadratic.
"""

from __future__ import annotations

import argparse
import contextlib
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
    markdown_cliffs(args.runs)


#: Hostile Markdown bodies by name: each takes a repeat count.
BODIES = {
    "'[' run (Python-Markdown's known cliff)": lambda n: "[" * n,
    "'~~a ' runs (tilde)": lambda n: "~~a " * n,
    "'*a ' and '_a ' runs (betterem)": lambda n: "*a _a " * n,
    "backslash run (escapeall)": lambda n: "\\" * n,
    "'www.' and 'https://a.' runs (magiclink)": lambda n: "www." * n + " https://" + "a." * n,
    "'a@' runs (magiclink e-mail)": lambda n: "a" * n + "@" + "b." * n,
    "task items '- [ ] x'": lambda n: "- [ ] x\n" * n,
    "fence openers '```' (superfences)": lambda n: "```\n" * n,
    "items indented by 1 (list nesting)": lambda n: "- a\n" + " - b\n" * n,
    "lists 32 deep, repeated": lambda n: "".join("  " * (i % 32) + "- x\n" for i in range(n)),
    "lists 2000 deep (refused)": lambda n: "".join("  " * i + "- x\n" for i in range(2000)),
}


def markdown_cliffs(runs: int) -> None:
    from guidepdf.errors import RenderError
    from guidepdf.markup import render_body

    def convert(text: str) -> None:
        with contextlib.suppress(RenderError):
            render_body(text)

    sizes = (1000, 4000)
    width = max(len(name) for name in BODIES)
    print(f"\n{'render_body on':{width}}  " + "  ".join(f"{f'n={n} ms':>11}" for n in sizes) + "  ratio")
    for name, body in BODIES.items():
        texts = [body(n) for n in sizes]
        times = [best_and_median(lambda text=text: convert(text), runs)[0] for text in texts]
        cells = "  ".join(f"{t * 1000:11.1f}" for t in times)
        print(f"{name:{width}}  {cells}  {times[1] / max(times[0], 1e-9):5.1f}")


if __name__ == "__main__":
    main()
