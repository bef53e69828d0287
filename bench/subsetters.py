"""Time warm briefs with HarfBuzz's subsetter and with the fontTools fallback, side by side in one run.

    python bench/subsetters.py [GUIDE...] [--runs N]

Without GUIDEs it times the reference guide, three seeds, a seed with a section in Chinese and a page
in Chinese, Japanese, Korean, Arabic and Hebrew (their fonts, found by fontconfig, are far larger
than the theme's).

WeasyPrint subsets fonts with libharfbuzz-subset when it can load it, else with fontTools (a plain
`pip install` on a machine without the Debian package). Both paths run in this one process, their
renders taking turns, so a busy machine slows both alike; the ratio is the fontTools path's best
time over HarfBuzz's. Each path's bytes are also rendered again a second later to show whether they
depend on the clock. "stock" is WeasyPrint's own fontTools fallback, which guidepdf replaces.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GUIDES = [ROOT / "tests" / "data" / "reference.md", *sorted((ROOT / "seeds").glob("*.md"))[:3]]
CJK_SEED = ROOT / "seeds" / "kestrel-games-product-designer.md"
CJK_SECTION = """
## 谈判要点

在薪资谈判中，先了解市场行情，再提出具体数字。准备好三个理由说明你的价值：过去项目的成果、团队中承担的
责任，以及你能为公司带来的长期收益。

不要在第一次通话时就接受报价。感谢对方，然后请求书面的完整方案，包括基本工资、股票、奖金、签约奖金和福利。
如果公司说预算已经固定，可以询问其他方面是否有弹性，例如远程办公、培训经费、假期天数或者下一次调薪的时间。

记录每一次沟通的内容和日期。保持礼貌、耐心和自信：谈判是合作，而不是对抗。
"""


#: The lines tests/test_scripts.py prints.
SCRIPTS = "---\ncompany: Kestrel\nrole: Engineer\n---\n# Scripts\n\n" + "".join(
    f"{name}: {text}\n\n"
    for name, text in {
        "chinese": "薪资谈判指南",
        "japanese": "給与交渉のガイド",
        "korean": "연봉협상안내",
        "arabic": "دليل التفاوض",
        "hebrew": "מדריך למשא",
    }.items()
)


def cjk_guides(folder: Path) -> list[Path]:
    """A seed with a section in Chinese, and a page in five scripts, written into `folder`."""
    chinese, scripts = folder / "kestrel-games-chinese.md", folder / "scripts.md"
    chinese.write_text(CJK_SEED.read_text(encoding="utf-8") + CJK_SECTION, encoding="utf-8")
    scripts.write_text(SCRIPTS, encoding="utf-8")
    return [chinese, scripts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guides", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="guidepdf-bench-") as folder:
        compare(args.guides or [*DEFAULT_GUIDES, *cjk_guides(Path(folder))], args.runs)


def compare(guides: list[Path], runs: int) -> None:
    """Print each guide's best render time with each subsetter, and whether its bytes hold still."""
    logging.getLogger("weasyprint").setLevel(logging.CRITICAL)  # its "using fontTools" warning

    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import harfbuzz_subset

    from guidepdf import RenderOptions, load_guide, render_pdf

    stock = fonts.Font._fonttools_subset  # WeasyPrint's own fallback, before guidepdf replaces it
    if harfbuzz_subset is None:
        raise SystemExit("libharfbuzz-subset is not installed here: only the fontTools path can run")
    options = RenderOptions().pinned()

    render_pdf(load_guide(guides[0]), options)
    ours = fonts.Font._fonttools_subset

    def use(library: object, fallback: object = ours) -> None:
        fonts.harfbuzz_subset = library  # WeasyPrint's Font.subset picks its path from this name
        fonts.Font._fonttools_subset = fallback

    paths = {"HarfBuzz": (harfbuzz_subset, ours), "fontTools": (None, ours), "stock": (None, stock)}
    print(f"{'guide':<40} {'HarfBuzz':>9} {'fontTools':>10} {'ratio':>6} {'stock':>8}  same bytes twice")
    ratios = []
    for path in guides:
        guide = load_guide(path)
        times: dict[str, list[float]] = {name: [] for name in paths}
        first = {}
        for name, (library, fallback) in paths.items():
            use(library, fallback)
            first[name] = hashlib.sha256(render_pdf(guide, options)).digest()  # and warm: fonts read
        for _ in range(runs):  # interleaved, so a busy machine slows every path alike
            for name, (library, fallback) in paths.items():
                use(library, fallback)
                start = time.perf_counter()
                render_pdf(guide, options)
                times[name].append(time.perf_counter() - start)
        time.sleep(1.1)  # fontTools used to stamp the second into each font
        same = {}
        for name, (library, fallback) in paths.items():
            use(library, fallback)
            same[name] = hashlib.sha256(render_pdf(guide, options)).digest() == first[name]
        use(harfbuzz_subset)
        hb, ft, st = (min(times[name]) for name in paths)
        ratios.append(ft / hb)
        print(
            f"{path.name[:40]:<40} {hb:>8.3f}s {ft:>9.3f}s {ft / hb:>5.2f}x {st / hb:>7.2f}x"
            f"  {same['HarfBuzz']} / {same['fontTools']} / {same['stock']}"
        )
    print(f"fontTools path: {min(ratios):.2f}x-{max(ratios):.2f}x the HarfBuzz path (best of {runs})")
    print("stock: WeasyPrint's own fontTools fallback on the same fonts, for comparison")


if __name__ == "__main__":
    main()
