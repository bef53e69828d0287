"""Font subsetting without libharfbuzz-subset: what a subset draws, keeps and leaves out.

`fonttools_subset` stands in for WeasyPrint's `Font._fonttools_subset`; it is called here with a stand-in
for WeasyPrint's font (its bytes, face index and missing code points). A subset must draw each kept
glyph exactly as the whole font does, under the same glyph id.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.misc.psCharStrings import T2CharString
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont

from guidepdf.subset import fonttools_subset

FONTS = Path(__file__).resolve().parents[1] / "styles" / "fonts"


def subset(data: bytes, gids: set[int], *, hinting: bool = False, index: int = 0) -> TTFont:
    font = SimpleNamespace(file_content=data, index=index, missing={}, family="Test")
    fonttools_subset(font, {gid: "x" for gid in gids}, hinting)
    assert font.file_content != data
    return TTFont(io.BytesIO(font.file_content))


def drawing(font: TTFont, gid: int) -> list[Any]:
    glyphs = font.getGlyphSet()
    pen = DecomposingRecordingPen(glyphs)
    glyphs[font.getGlyphOrder()[gid]].draw(pen)
    return list(pen.value)


def assert_draws_the_same(whole: TTFont, part: TTFont, gids: set[int]) -> None:
    for gid in gids:
        assert drawing(part, gid) == drawing(whole, gid), gid
        name, kept = whole.getGlyphOrder()[gid], part.getGlyphOrder()[gid]
        assert part["hmtx"][kept] == whole["hmtx"][name], gid


@pytest.mark.parametrize("name", ["Inter-Regular.otf", "InterDisplay-Bold.otf", "IBMPlexMono-Regular.ttf"])
def test_bundled_fonts_subset_keeps_glyph_ids_drawings_and_code_points(name: str) -> None:
    data = (FONTS / name).read_bytes()
    whole = TTFont(io.BytesIO(data))
    cmap = whole.getBestCmap()
    wanted = {whole.getGlyphID(cmap[ord(c)]) for c in "Salary €1,200 — négociation"}
    part = subset(data, wanted)
    assert_draws_the_same(whole, part, wanted)
    # glyphs after the last one used are left out; the others are empty
    assert part["maxp"].numGlyphs == max(wanted) + 1
    unused = next(gid for gid in range(1, max(wanted)) if gid not in wanted and drawing(whole, gid))
    assert drawing(part, unused) == []
    assert drawing(part, 0) == []  # .notdef is drawn only when a character is missing
    # only the kept glyphs' code points are mapped, to the same glyph ids
    kept = {code: part.getGlyphID(glyph) for code, glyph in part.getBestCmap().items()}
    assert kept == {code: whole.getGlyphID(g) for code, g in cmap.items() if whole.getGlyphID(g) in wanted}
    assert not {"GSUB", "GPOS", "GDEF", "kern"} & set(part.keys())
    assert len(part.reader["name"]) <= len(whole.reader["name"])
    assert part["head"].modified == whole["head"].modified  # no clock in the bytes
    assert len(bytes_of(part)) < len(data) / 3


def bytes_of(font: TTFont) -> bytes:
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def test_same_glyphs_same_bytes_and_a_face_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from fontTools.ttLib import sfnt

    data = (FONTS / "IBMPlexMono-Regular.ttf").read_bytes() + b"\0\0\0\0"  # bytes no other test uses
    reads = []
    real = sfnt.SFNTReader.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        reads.append(1)
        real(self, *args, **kwargs)

    monkeypatch.setattr(sfnt.SFNTReader, "__init__", counting)
    results = set()
    for _ in range(3):
        font = SimpleNamespace(file_content=data, index=0, missing={}, family="Test")
        fonttools_subset(font, {36: "A", 68: "a"}, False)
        results.add(font.file_content)
    assert len(results) == 1
    assert len(reads) == 1


def finished(builder: FontBuilder, order: list[str], *, advance: int) -> bytes:
    """The test font's remaining tables (every glyph `advance` wide), and its bytes."""
    builder.setupHorizontalMetrics({name: (advance, 100) for name in order})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Test", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    return bytes_of(builder.font)


def truetype_with_composite_and_hints() -> bytes:
    """A TrueType font: a square with instructions, and a glyph made of two shifted squares."""
    builder = FontBuilder(1000, isTTF=True)
    order = [".notdef", "square", "pair", "unused", "last"]
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap({0x41: "square", 0x42: "pair", 0x43: "unused", 0x44: "last"})
    pen = TTGlyphPen(None)
    pen.moveTo((100, 0))
    pen.lineTo((100, 500))
    pen.lineTo((600, 500))
    pen.lineTo((600, 0))
    pen.closePath()
    square = pen.glyph()
    from fontTools.ttLib.tables import ttProgram

    square.program = ttProgram.Program()
    square.program.fromBytecode(b"\xb0\x01\x2c")  # never run: only kept or cut
    pair = TTGlyphPen({"square": square})
    pair.addComponent("square", (1, 0, 0, 1, 0, 0))
    pair.addComponent("square", (1, 0, 0, 1, 700, 0))
    empty = TTGlyphPen(None).glyph()
    glyphs = {".notdef": square, "square": square, "pair": pair.glyph(), "unused": square, "last": empty}
    builder.setupGlyf(glyphs)
    return finished(builder, order, advance=1400)


@pytest.mark.parametrize("hinting", [False, True])
def test_truetype_composites_keep_their_parts_and_hints_only_when_asked(hinting: bool) -> None:
    data = truetype_with_composite_and_hints()
    whole = TTFont(io.BytesIO(data))
    part = subset(data, {2}, hinting=hinting)  # "pair", made of "square" (1)
    assert_draws_the_same(whole, part, {1, 2})
    assert part["maxp"].numGlyphs == 3
    assert part.getBestCmap() == {0x42: part.getGlyphOrder()[2]}  # "square" is a part, not asked for
    program = part["glyf"][part.getGlyphOrder()[1]].program.getBytecode()
    assert program == (b"\xb0\x01\x2c" if hinting else b"")


def cff_with_accented_glyph() -> bytes:
    """A CFF font whose "Aacute" is drawn as `seac`: "A" with "acute" on top, by standard codes."""
    builder = FontBuilder(1000, isTTF=False)
    order = [".notdef", "A", "acute", "Aacute", "B"]
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap({0x41: "A", 0xB4: "acute", 0xC1: "Aacute", 0x42: "B"})
    box = [100, 0, "rmoveto", 500, 0, 0, 500, -500, 0, "rlineto", "endchar"]
    charstrings = {
        ".notdef": T2CharString(program=["endchar"]),
        "A": T2CharString(program=box),
        "acute": T2CharString(program=[200, 600, "rmoveto", 100, 0, 0, 100, "rlineto", "endchar"]),
        "Aacute": T2CharString(program=[0, 50, 65, 194, "endchar"]),  # adx ady bchar achar
        "B": T2CharString(program=box),
    }
    builder.setupCFF("Test-Regular", {"FullName": "Test"}, charstrings, {})
    return finished(builder, order, advance=700)


def test_cff_accented_glyph_keeps_the_glyphs_it_is_built_of() -> None:
    data = cff_with_accented_glyph()
    whole = TTFont(io.BytesIO(data))
    assert drawing(whole, 3)  # the font draws it, from A and acute
    part = subset(data, {3, 4})
    assert_draws_the_same(whole, part, {3, 4})


def system_font(pattern: str) -> Path | None:
    if shutil.which("fc-match") is None:
        return None
    out = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True).stdout
    return Path(out) if out and Path(out).is_file() else None


@pytest.mark.parametrize("pattern", [":lang=zh-cn", "DejaVu Sans"])
def test_installed_fonts_subset_draws_the_same(pattern: str) -> None:
    path = system_font(pattern)
    if path is None:
        pytest.skip(f"no installed font for {pattern}")
    data = path.read_bytes()
    whole = TTFont(io.BytesIO(data), fontNumber=0)
    cmap = whole.getBestCmap()
    text = "薪资谈判指南 Salary négociation ½"
    wanted = {whole.getGlyphID(cmap[ord(c)]) for c in text if ord(c) in cmap}
    part = subset(data, wanted)
    assert_draws_the_same(whole, part, wanted)
