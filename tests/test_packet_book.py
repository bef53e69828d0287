"""Packets read as one book: each font face embedded once (text and pages unchanged), a cover that
says what the packet holds, and document metadata."""

from __future__ import annotations

import io
import subprocess
from datetime import date
from pathlib import Path

import pikepdf
import pytest

from conftest import SEEDS, pdfinfo
from guidepdf import RenderOptions, load_guide, render_pdf
from guidepdf.batch import render_batch
from guidepdf.fontshare import merge_subsets
from guidepdf.packet import make_packet

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 23)
NAMES = (
    "aurelian-systems-engineering-manager.md",
    "halden-bank-quant-researcher.md",
    "kestrel-games-product-designer.md",
    "lumenpay-product-manager.md",
    "saffron-health-data-engineer.md",
    "tessera-ai-ml-engineer.md",
)


def font_programs(pdf: Path) -> dict[str, set[tuple[int, int]]]:
    """Each face's embedded font programs (object ids), by font name without its subset tag."""
    found: dict[str, set[tuple[int, int]]] = {}
    with pikepdf.open(pdf) as doc:
        for obj in doc.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor":
                for key in ("/FontFile2", "/FontFile3"):
                    if key in obj:
                        found.setdefault(str(obj.FontName).split("+")[-1], set()).add(obj[key].objgen)
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("fonts")
    guides = [SEEDS / name for name in NAMES]
    result = render_batch(guides, out / "briefs", RenderOptions(as_of=AS_OF), jobs=2)
    assert result.count("rendered") == len(NAMES)
    packet = make_packet(guides, RenderOptions(as_of=AS_OF), jobs=2, batch_dir=out / "briefs")
    assert packet.pdf is not None and not packet.failed
    (out / "packet.pdf").write_bytes(packet.pdf)
    return out / "briefs", out / "packet.pdf"


def test_each_face_is_embedded_once(built: tuple[Path, Path]) -> None:
    briefs, packet = built
    per_brief = font_programs(briefs / "aurelian-systems-engineering-manager.pdf")
    assert len(per_brief) >= 4  # regular, semibold, bold, display bold at least
    shared = font_programs(packet)
    assert set(per_brief) <= set(shared)
    assert all(len(programs) == 1 for programs in shared.values()), shared


def font_bytes(pdf: Path) -> int:
    """Bytes of the embedded font programs (as stored) in `pdf`."""
    seen: set[tuple[int, int]] = set()
    total = 0
    with pikepdf.open(pdf) as doc:
        for obj in doc.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor":
                for key in ("/FontFile2", "/FontFile3"):
                    if key in obj and obj[key].objgen not in seen:
                        seen.add(obj[key].objgen)
                        total += len(obj[key].read_raw_bytes())
    return total


def test_packet_fonts_cost_a_fraction_of_the_briefs_fonts(built: tuple[Path, Path]) -> None:
    briefs, packet = built
    parts = sum(font_bytes(p) for p in briefs.glob("*.pdf"))
    # Six briefs carry six copies of each face; the packet one merged copy, a little larger than one.
    assert font_bytes(packet) < 0.35 * parts


def test_every_glyph_still_draws_and_extracts(built: tuple[Path, Path]) -> None:
    _, packet = built
    errors = subprocess.run(["pdftotext", str(packet), "-"], capture_output=True, text=True, check=True)
    assert "Error" not in errors.stderr
    # pdffonts reads every font program; a broken merge shows up as an error or a missing font
    fonts = subprocess.run(["pdffonts", str(packet)], capture_output=True, text=True, check=True)
    assert "Error" not in fonts.stderr and "IBM" not in fonts.stderr
    # qpdf finds no damage
    subprocess.run(["qpdf", "--check", str(packet)], capture_output=True, check=True)


def test_different_faces_are_never_merged(tmp_path: Path) -> None:
    guide = tmp_path / "g.md"
    guide.write_text("# Faces\n\nRegular text **and bold text**.\n", encoding="utf-8")
    data = render_pdf(load_guide(guide), RenderOptions(as_of=AS_OF))
    programs = []
    with pikepdf.open(io.BytesIO(data)) as doc:
        for obj in doc.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor":
                name = str(obj.FontName)
                if name.endswith(("+Inter", "+Inter-Bold")) and "/FontFile3" in obj:
                    programs.append(obj.FontFile3.read_bytes())
    assert len(programs) == 2
    assert merge_subsets(programs) is None  # one glyph id, two drawings: not one face
    assert merge_subsets(programs[:1] * 2) is not None


def test_subsets_are_merged_one_at_a_time(built: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """However many parts share a face, merging holds two parsed fonts at a time, not one per part."""
    import gc
    import weakref

    import fontTools.ttLib

    briefs, _ = built
    programs = []
    for brief in sorted(briefs.glob("*.pdf")):
        with pikepdf.open(brief) as doc:
            for obj in doc.objects:
                descriptor = isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor"
                if descriptor and str(obj.FontName).endswith("+Inter") and "/FontFile3" in obj:
                    programs.append(obj.FontFile3.read_bytes())
    assert len(set(programs)) == len(NAMES)  # each brief its own subset
    parsed: list[weakref.ref[object]] = []
    most = 0

    class Counted(fontTools.ttLib.TTFont):  # type: ignore[misc]
        def __init__(self, *args: object, lazy: bool | None = None, **kwargs: object) -> None:
            nonlocal most
            super().__init__(*args, lazy=lazy, **kwargs)
            if lazy is False:  # fully parsed, as merging needs
                gc.collect()  # a CFF font is a reference cycle: count only what merging still holds
                parsed.append(weakref.ref(self))
                most = max(most, sum(1 for ref in parsed if ref() is not None))

    monkeypatch.setattr(fontTools.ttLib, "TTFont", Counted)
    merged = merge_subsets(programs)
    assert merged is not None
    assert len(parsed) == len(NAMES) and most <= 2
    # Every glyph any subset draws is drawn, the same, in the merged program.
    font = fontTools.ttLib.TTFont(io.BytesIO(merged))
    strings = font["CFF "].cff.topDictIndex[0].CharStrings
    for program in programs:
        subset = fontTools.ttLib.TTFont(io.BytesIO(program))
        for name in subset.getGlyphOrder():
            glyph = subset["CFF "].cff.topDictIndex[0].CharStrings[name]
            glyph.compile()
            if len(glyph.bytecode) > 4:
                merged_glyph = strings[name]
                merged_glyph.compile()
                assert merged_glyph.bytecode == glyph.bytecode, name


def test_cover_says_what_the_packet_holds(built: tuple[Path, Path]) -> None:
    _, packet = built
    cover = " ".join(
        subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", str(packet), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "6 salary negotiation briefs for Aurelian Systems, Halden Bank, Kestrel Games and 3 other" in cover
    assert "6 guides" in cover and "pages" in cover and "23 Nov 2026" in cover
    # six guides: the contents table sits on the cover, a row per guide naming company and role
    for name in NAMES:
        guide = load_guide(SEEDS / name)
        row = f"{guide.company_display} {guide.role_display}"
        assert row in cover, row


def test_packet_metadata_names_subject_keywords_and_author(built: tuple[Path, Path]) -> None:
    _, packet = built
    info = pdfinfo(packet)
    assert info["Subject"].startswith("6 salary negotiation briefs: Aurelian Systems, Halden Bank")
    assert info["Keywords"].startswith("salary negotiation, Aurelian Systems")
    assert info["Author"] == "guidepdf"
