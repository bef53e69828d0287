"""Time one brief: cold command-line runs, warm in-process renders, and bare WeasyPrint on the same HTML.

    python bench/brief.py [GUIDE] [--runs N]

Prints seconds per brief. guidepdf's own overhead is the warm render_pdf time against bare WeasyPrint
laying out the very HTML guidepdf produces (its self-contained `--format html` page), with the same
PDF options (tagging on, as guidepdf's default).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import best_and_median  # bench/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GUIDE = ROOT / "tests" / "data" / "reference.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guide", nargs="?", type=Path, default=DEFAULT_GUIDE)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import weasyprint

    from guidepdf import RenderOptions, load_guide, render_html, render_pdf
    from guidepdf.pdf import pdf_options

    options = RenderOptions().pinned()
    guide = load_guide(args.guide)
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        html_path = out / "brief.html"
        html_path.write_text(render_html(guide, options), encoding="utf-8")
        write_options = pdf_options(options)

        def cli() -> None:
            subprocess.run(
                [str(bindir / "guidepdf"), "render", str(args.guide), "-o", str(out / "cli.pdf"), "--force"],
                check=True,
                capture_output=True,
            )

        def bare_cli() -> None:
            tag = ["--pdf-tags"] if write_options.get("pdf_tags") else []
            subprocess.run(
                [str(bindir / "weasyprint"), *tag, str(html_path), str(out / "bare.pdf")],
                check=True,
                capture_output=True,
            )

        def warm() -> None:
            render_pdf(load_guide(args.guide), options)

        def bare_warm() -> None:
            weasyprint.HTML(filename=str(html_path)).write_pdf(**write_options)

        pages = len(__import__("pypdf").PdfReader(__import__("io").BytesIO(render_pdf(guide, options))).pages)
        bare_warm()
        rows = [
            ("guidepdf render (cold command)", *best_and_median(cli, max(2, args.runs // 2))),
            (
                "weasyprint command on the same HTML (cold)",
                *best_and_median(bare_cli, max(2, args.runs // 2)),
            ),
            ("guidepdf render_pdf (warm, in process)", *best_and_median(warm, args.runs)),
            ("weasyprint HTML().write_pdf (warm, same HTML)", *best_and_median(bare_warm, args.runs)),
        ]
    print(f"guide: {args.guide.name} ({pages} pages), {args.runs} runs, seconds per brief")
    print(f"{'':48} {'best':>7} {'median':>7}")
    for name, best, median in rows:
        print(f"{name:48} {best:7.3f} {median:7.3f}")
    overhead = rows[2][2] / rows[3][2] - 1
    print(f"guidepdf overhead over bare WeasyPrint (warm medians): {overhead:+.1%}")


if __name__ == "__main__":
    main()
