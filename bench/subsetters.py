"""Time warm briefs with HarfBuzz's subsetter and with the fontTools fallback, side by side in one run.

    python bench/subsetters.py [GUIDE...] [--runs N]

WeasyPrint subsets fonts with libharfbuzz-subset when it can load it, else with fontTools (a plain
`pip install` on a machine without the Debian package). Both paths run in this one process, one
render after the other, so a busy machine slows both alike; each path's bytes are also rendered
twice a second apart to show whether they depend on the clock. "stock" is WeasyPrint's own fontTools
fallback, which guidepdf replaces.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import logging
import time
from pathlib import Path

from timing import best_and_median  # bench/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GUIDES = [ROOT / "tests" / "data" / "reference.md", *sorted((ROOT / "seeds").glob("*.md"))[:2]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guides", nargs="*", type=Path, default=DEFAULT_GUIDES)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.CRITICAL)  # its "using fontTools" warning

    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import harfbuzz_subset

    from guidepdf import RenderOptions, load_guide, render_pdf

    stock = fonts.Font._fonttools_subset  # WeasyPrint's own fallback, before guidepdf replaces it
    if harfbuzz_subset is None:
        raise SystemExit("libharfbuzz-subset is not installed here: only the fontTools path can run")
    options = RenderOptions().pinned()

    render_pdf(load_guide(args.guides[0]), options)
    ours = fonts.Font._fonttools_subset

    def use(library: object, fallback: object = ours) -> None:
        fonts.harfbuzz_subset = library  # WeasyPrint's Font.subset picks its path from this name
        fonts.Font._fonttools_subset = fallback

    print(f"{'guide':<40} {'HarfBuzz':>9} {'fontTools':>10} {'ratio':>6} {'stock':>8}  same bytes twice")
    ratios = []
    for path in args.guides:
        guide = load_guide(path)
        row = []
        for library, fallback in ((harfbuzz_subset, ours), (None, ours), (None, stock)):
            use(library, fallback)
            render_pdf(guide, options)  # warm: theme parsed, fonts loaded
            best, _ = best_and_median(functools.partial(render_pdf, guide, options), args.runs)
            first = hashlib.sha256(render_pdf(guide, options)).hexdigest()
            time.sleep(1.1)  # fontTools used to stamp the second into each font
            again = hashlib.sha256(render_pdf(guide, options)).hexdigest()
            row.append((best, first == again))
        use(harfbuzz_subset)
        (hb, hb_same), (ft, ft_same), (st, st_same) = row
        ratios.append(ft / hb)
        print(
            f"{path.name[:40]:<40} {hb:>8.3f}s {ft:>9.3f}s {ft / hb:>5.2f}x {st / hb:>7.2f}x"
            f"  {hb_same} / {ft_same} / {st_same}"
        )
    print(f"fontTools path: {min(ratios):.2f}x-{max(ratios):.2f}x the HarfBuzz path (best of {args.runs})")
    print("stock: WeasyPrint's own fontTools fallback on the same fonts, for comparison")


if __name__ == "__main__":
    main()
