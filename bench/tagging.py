"""What accessibility and embedded sources cost per brief: time and bytes, tagged or not, each variant.

    python bench/tagging.py [GUIDE...] [--runs N]

Renders each guide warm, in process, with the same as-of date, interleaving the configurations so
machine noise spreads evenly, and prints the median CPU seconds of this process (steadier than wall
time on a shared machine; rendering is single-threaded) and the bytes of each.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date
from pathlib import Path

from guidepdf import RenderOptions, load_guide, render_pdf

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GUIDES = [
    ROOT / "tests" / "data" / "reference.md",
    ROOT / "seeds" / "aurelian-systems-engineering-manager.md",
    ROOT / "seeds" / "kestrel-games-product-designer.md",
]
AS_OF = date(2026, 11, 23)
CONFIGS = {
    "untagged, no sources": RenderOptions(as_of=AS_OF, tagged=False, attach_sources=False),
    "tagged, no sources": RenderOptions(as_of=AS_OF, tagged=True, attach_sources=False),
    "tagged + sources (default)": RenderOptions(as_of=AS_OF),
    "pdf/ua-1": RenderOptions(as_of=AS_OF, pdf_variant="pdf/ua-1"),
    "pdf/a-3b": RenderOptions(as_of=AS_OF, pdf_variant="pdf/a-3b"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guides", nargs="*", type=Path, default=DEFAULT_GUIDES)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for path in args.guides:
        guide = load_guide(path)
        times: dict[str, list[float]] = {name: [] for name in CONFIGS}
        sizes: dict[str, int] = {}
        for options in CONFIGS.values():  # warm the theme and fonts for every configuration
            render_pdf(guide, options)
        for _ in range(args.runs):
            for name, options in CONFIGS.items():
                start = time.process_time()
                pdf = render_pdf(guide, options)
                times[name].append(time.process_time() - start)
                sizes[name] = len(pdf)
        base_time = statistics.median(times["untagged, no sources"])
        base_size = sizes["untagged, no sources"]
        print(f"{path.name} (median CPU time of {args.runs} warm renders)")
        for name in CONFIGS:
            median = statistics.median(times[name])
            print(
                f"  {name:28} {median:6.3f} s ({median - base_time:+.3f} s, {median / base_time - 1:+6.1%})"
                f"  {sizes[name]:8,} bytes ({sizes[name] - base_size:+,})"
            )


if __name__ == "__main__":
    main()
