"""One embedded font program per face in a joined PDF: the parts' subsets of a face merged into one.

Each brief embeds its own subsets of the theme's fonts, so a packet of forty briefs carries forty
copies of Inter. WeasyPrint subsets with glyph ids retained (a glyph keeps its id from the full font in
every subset), so the subsets of one face can be merged glyph by glyph: the merged program holds every
glyph any part uses, at the same ids, and every part's font descriptor points at it. Each part keeps
its own font dictionary (widths, ToUnicode map), so text extraction and tagging are untouched.

Subsets are merged only when they are provably of one face: same glyph order, same units per em, same
CFF private dict, and no glyph id drawn differently by two of them. Anything else is left as it was.
"""

from __future__ import annotations

import hashlib
import io
import re
import zlib
from collections.abc import Iterable
from typing import Any

#: "ABCDEF+Inter-Bold" → "Inter-Bold": the subset tag differs in every part.
_TAG = re.compile(r"^/?[A-Z]{6}\+")
_FILES = ("/FontFile2", "/FontFile3")


def _face(descriptor: Any) -> tuple[str, str] | None:
    for key in _FILES:
        if key in descriptor:
            return key, _TAG.sub("", str(descriptor.get("/FontName", "")))
    return None


def _glyph_blobs(font: Any) -> tuple[dict[str, bytes], dict[str, tuple[int, int]]] | None:
    """Each glyph's drawing as bytes (empty when the subset dropped it) and its metrics."""
    hmtx = font["hmtx"].metrics if "hmtx" in font else {}
    if "CFF " in font:
        cff = font["CFF "].cff
        top = cff.topDictIndex[0]
        if getattr(top, "FDArray", None) is not None or getattr(top, "ROS", None) is not None:
            return None  # CID-keyed: per-glyph private dicts; not worth the risk
        strings = top.CharStrings
        blobs = {}
        for name in font.getGlyphOrder():
            charstring = strings[name]
            if charstring.bytecode is None:
                charstring.compile()
            blobs[name] = bytes(charstring.bytecode)
        return blobs, hmtx
    if "glyf" in font:
        glyf = font["glyf"]
        blobs = {}
        for name in font.getGlyphOrder():
            glyph = glyf[name]
            blobs[name] = glyph.compile(glyf) if glyph.numberOfContours else b""
        return blobs, hmtx
    return None


def _drawn(blob: bytes, cff: bool) -> bool:
    # A dropped CFF glyph is a bare `endchar` (with or without a width): at most a few bytes.
    return len(blob) > 4 if cff else bool(blob)


def _signature(font: Any) -> tuple[Any, ...]:
    head = font["head"]
    signature: tuple[Any, ...] = (len(font.getGlyphOrder()), head.unitsPerEm)
    if "CFF " in font:
        private = font["CFF "].cff.topDictIndex[0].Private
        signature += (getattr(private, "defaultWidthX", None), getattr(private, "nominalWidthX", None))
    return signature


def merge_subsets(programs: Iterable[bytes], *, exact: bool = False) -> bytes | None:
    """One font program holding every glyph of `programs` (subsets of one face with retained glyph
    ids), or None when they cannot be shown to be subsets of one face.

    The subsets are read one at a time and folded into the first (the one with the longest glyph
    order), so memory holds two parsed fonts, not one per part, however many parts share the face.
    """
    from fontTools.ttLib import TTFont

    def parse(data: bytes, lazy: bool | None = False) -> Any:
        # No new head.modified timestamp: the same parts must give the same packet bytes.
        return TTFont(io.BytesIO(data), lazy=lazy, recalcTimestamp=False)

    datas = list(programs)
    if not datas:
        return None
    # The longest glyph order first: harfbuzz drops empty glyphs after the last one used. (A stable
    # sort: subsets of equal length keep their order.) The glyph count in `maxp` gives the length
    # without reading the outlines; a font whose glyph order turns out otherwise is sorted again.
    if exact:
        lengths = [len(parse(data, lazy=True).getGlyphOrder()) for data in datas]
    else:
        lengths = [parse(data, lazy=True)["maxp"].numGlyphs for data in datas]
    order = sorted(range(len(datas)), key=lambda i: lengths[i], reverse=True)
    base = parse(datas[order[0]])
    if len(base.getGlyphOrder()) != lengths[order[0]]:
        return merge_subsets(datas, exact=True)
    cff = "CFF " in base
    glyph_order = base.getGlyphOrder()
    base_blobs = _glyph_blobs(base)
    if base_blobs is None:
        return None
    blobs, metrics = base_blobs
    base_signature = _signature(base)[1:]
    if cff:
        strings = base["CFF "].cff.topDictIndex[0].CharStrings
        private = base["CFF "].cff.topDictIndex[0].Private
    for position in order[1:]:
        font = parse(datas[position])
        if len(font.getGlyphOrder()) != lengths[position]:
            return None if exact else merge_subsets(datas, exact=True)
        if ("CFF " in font) != cff or font.getGlyphOrder() != glyph_order[: len(font.getGlyphOrder())]:
            return None
        if _signature(font)[1:] != base_signature:
            return None
        other = _glyph_blobs(font)
        if other is None:
            return None
        other_blobs, other_metrics = other
        taken = []
        for name, blob in other_blobs.items():
            if not _drawn(blob, cff):
                # An outline-less glyph (a space): keep the width of whichever subset kept it.
                width = other_metrics.get(name, (0, 0))[0]
                if width and not _drawn(blobs[name], cff) and not metrics.get(name, (0, 0))[0]:
                    blobs[name], metrics[name] = blob, other_metrics[name]
                    taken.append(name)
                continue
            if _drawn(blobs[name], cff):
                if blobs[name] != blob:
                    return None  # two different drawings for one glyph id: not one face
                continue
            blobs[name] = blob
            taken.append(name)
            if name in other_metrics:
                metrics[name] = other_metrics[name]
        # The glyphs this subset gives move into the merged font now (a later subset may still
        # replace an outline-less one); the rest of it is let go.
        for name in taken:
            if cff:
                source = font["CFF "].cff.topDictIndex[0].CharStrings[name]
                source.private = private
                strings[name] = source
            else:
                base["glyf"][name] = font["glyf"][name]
        del font  # before the next one is read
    if "hmtx" in base:
        base["hmtx"].metrics.update(metrics)
    out = io.BytesIO()
    base.save(out, reorderTables=False)
    return out.getvalue()


def share_fonts(pdf: Any) -> int:
    """Point every font descriptor of one face in `pdf` (a pikepdf.Pdf) at one merged program.

    Returns how many embedded font programs were replaced by a shared one.
    """
    from pikepdf import Dictionary, Name, Stream

    faces: dict[tuple[str, str], list[Any]] = {}
    for obj in pdf.objects:
        if isinstance(obj, Dictionary) and obj.get("/Type") == "/FontDescriptor":
            face = _face(obj)
            if face is not None:
                faces.setdefault(face, []).append(obj)
    replaced = 0
    for (key, _name), descriptors in sorted(faces.items()):
        streams: dict[str, Any] = {}
        for descriptor in descriptors:
            stream = descriptor[key]
            data = stream.read_bytes()
            streams.setdefault(hashlib.sha256(data).hexdigest(), (stream, data))
        if len(streams) == 1:  # one program, maybe copied once per part: keep one copy
            shared = next(iter(streams.values()))[0]
            for descriptor in descriptors:
                if descriptor[key].objgen != shared.objgen:
                    descriptor[key] = shared
                    replaced += 1
            continue
        subtype = next(iter(streams.values()))[0].get("/Subtype")
        if any(s.get("/Subtype") != subtype for s, _ in streams.values()):
            continue
        try:
            merged = merge_subsets(data for _, (_, data) in sorted(streams.items()))
        except Exception:  # a font fontTools cannot read is left as it was, never a failed packet
            merged = None
        if merged is None:
            continue
        shared = Stream(pdf, zlib.compress(merged, 9))
        shared.Filter = Name.FlateDecode
        if subtype is not None:
            shared.Subtype = subtype
        if key == "/FontFile2":
            shared.Length1 = len(merged)
        shared = pdf.make_indirect(shared)
        for descriptor in descriptors:
            descriptor[key] = shared
        replaced += len(streams)
    return replaced
