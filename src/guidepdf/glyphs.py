"""Which characters of a guide no available font can draw (they would print as blank space).

The theme's own fonts are read with fontTools; for anything they lack, fontconfig (the font
catalogue Pango, and so WeasyPrint, falls back on) is asked once per process through `fc-list`.
WeasyPrint is never imported, so `check` stays quick.
"""

from __future__ import annotations

import bisect
import functools
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

from .themes import builtin_dir

#: Unicode categories that draw nothing by themselves: controls, format marks, spaces, unassigned.
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}
_FONT_SUFFIXES = {".otf", ".ttf", ".ttc", ".woff"}
#: At most this many characters are named in a warning; the rest are counted.
SHOWN = 8
FIX = (
    "install a font that covers them (Debian/Ubuntu: `sudo apt-get install fonts-wqy-microhei` for "
    "Chinese, Japanese and Korean, `fonts-dejavu-core` for Arabic and Hebrew, `fonts-noto` for most "
    "other scripts) or add one to the theme with --style (an @font-face rule)"
)


def uncovered(text: str, font_dirs: Iterable[Path] = ()) -> tuple[str, ...]:
    """The distinct visible characters of `text` that neither the theme's fonts nor any installed one has.

    `font_dirs` are extra folders whose font files the theme uses (user stylesheets' folders).
    Without `fc-list` installed fonts cannot be asked about, so whatever the theme lacks is returned.
    """
    wanted = sorted({c for c in text if ord(c) > 0x7E and unicodedata.category(c) not in _INVISIBLE})
    if not wanted:
        return ()
    fonts = _theme_fonts(tuple(sorted({Path(d).resolve() for d in (builtin_dir("styles"), *font_dirs)})))
    missing = wanted
    for font in fonts:  # most guides' characters are all in the first font or two: the rest go unread
        if not missing:
            return ()
        cover = _font_cover(font)
        missing = [c for c in missing if ord(c) not in cover]
    if not missing:
        return ()
    system = _system_ranges()
    return tuple(c for c in missing if not _in_ranges(ord(c), system))


def describe(chars: Iterable[str]) -> str:
    """`'한' U+D55C, 'ア' U+30A2 and 3 more`: the characters and their code points, for a message."""
    chars = tuple(chars)
    named = ", ".join(f"'{c}' U+{ord(c):04X}" for c in chars[:SHOWN])
    return named + (f" and {len(chars) - SHOWN} more" if len(chars) > SHOWN else "")


def warning(chars: Iterable[str]) -> str:
    """The one-line warning for characters no font covers, with the fix."""
    chars = tuple(chars)
    noun = "character" if len(chars) == 1 else "characters"
    return f"no installed font has {len(chars)} {noun}, printed as blank: {describe(chars)}; {FIX}"


def blank_text(sources: Iterable[str], font_dirs: Iterable[Path] = ()) -> Iterator[tuple[str, str]]:
    """`(source, warning)` for each guide file with characters no font can draw; unreadable files are
    left to whoever reads them next."""
    font_dirs = list(font_dirs)
    for source in sources:
        try:
            text = Path(source).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        missing = uncovered(text, font_dirs)
        if missing:
            yield source, warning(missing)


@functools.cache
def _theme_fonts(folders: tuple[Path, ...]) -> tuple[Path, ...]:
    """The font files in the theme's folders, in a fixed order."""
    return tuple(
        path
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.suffix.lower() in _FONT_SUFFIXES and path.is_file()
    )


@functools.cache
def _font_cover(path: Path) -> frozenset[int]:
    """The code points one font file has; none for a file fontTools cannot read."""
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(path, lazy=True, fontNumber=0) as font:
            return frozenset(font.getBestCmap() or {})
    except (OSError, TTLibError, AssertionError, KeyError):
        return frozenset()  # not a font fontTools can read: it covers nothing we can vouch for


@functools.cache
def _system_ranges() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Every installed font's code points as merged ranges (starts, ends); empty without fc-list."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return (), ()
    try:
        listing = subprocess.run(
            [fc_list, "--format", "%{charset}\n"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return (), ()
    spans: list[tuple[int, int]] = []
    for token in listing.split():
        first, _, last = token.partition("-")
        try:
            spans.append((int(first, 16), int(last or first, 16)))
        except ValueError:
            continue
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple(s for s, _ in merged), tuple(e for _, e in merged)


def _in_ranges(code: int, ranges: tuple[tuple[int, ...], tuple[int, ...]]) -> bool:
    starts, ends = ranges
    i = bisect.bisect_right(starts, code) - 1
    return i >= 0 and code <= ends[i]
