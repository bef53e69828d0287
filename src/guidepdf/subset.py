"""Font subsetting for machines where WeasyPrint finds no libharfbuzz-subset.

WeasyPrint 70 then subsets with fontTools, which reads and rewrites every glyph and table of a font
for each subset (for a CJK face, tens of thousands of glyphs: far longer than laying out the page)
and stamps the current time into each subset (so two renders a second apart differ).
`guidepdf.pdf` puts `fonttools_subset` in its place. Plain TrueType faces, and CFF faces whose
glyphs call no subroutines (as the bundled Inter is stored), are subset here directly, from what is
read of each face once per process; the subset keeps glyph ids, as WeasyPrint needs, and holds the
used glyphs' outlines byte for byte. Any other font goes to fontTools, keeping the font's own
timestamp and deleting the dropped layout tables unread. Either way the bytes depend only on the
font and the glyphs used. The HarfBuzz path is untouched.
"""

from __future__ import annotations

import array
import io
import logging
import struct
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


#: Tables WeasyPrint's subsetting drops (besides hinting), and GDEF, which only they use; deleted
#: before fontTools would parse them.
_DROPPED_TABLES = ("GSUB", "GPOS", "SVG ", "GDEF")


def fonttools_subset(font: Any, to_unicode: Any, hinting: bool) -> None:
    """WeasyPrint's `Font._fonttools_subset`, deterministic and quick.

    A plain TrueType face, or a CFF one whose glyphs call no subroutines, is subset directly (see
    `_truetype_subset` and `_cff_subset`); any other font by fontTools.
    """
    try:
        face = _face(font.file_content, font.index)
        if isinstance(face, _TrueType):
            font.file_content = _truetype_subset(face, to_unicode, hinting, bool(font.missing))
            return
        if isinstance(face, _Cff):
            font.file_content = _cff_subset(face, to_unicode, bool(font.missing))
            return
    except Exception:  # a font this reading does not expect: fontTools knows more fonts
        log.debug("font %r: subset by fontTools instead", font.family, exc_info=True)
    _fonttools_subset(font, to_unicode, hinting)


def _fonttools_subset(font: Any, to_unicode: Any, hinting: bool) -> None:
    """WeasyPrint's `Font._fonttools_subset` with the font's timestamp kept and layout tables unread."""
    from fontTools import subset
    from fontTools.ttLib import TTFont, TTLibError

    try:
        ttfont = TTFont(
            io.BytesIO(font.file_content), fontNumber=font.index, recalcTimestamp=False, recalcBBoxes=False
        )
        if "GPOS" in ttfont and "kern" in ttfont:
            del ttfont["kern"]  # fontTools drops a legacy kern table when GPOS is there
        for tag in _DROPPED_TABLES:
            if tag in ttfont:
                del ttfont[tag]
        subrs, hints = _cff_traits(ttfont)
        options = subset.Options(
            retain_gids=True,
            passthrough_tables=True,
            ignore_missing_glyphs=True,
            # Desubroutinizing and stripping hints run every charstring through an interpreter; the
            # bundled fonts are stored flat and hint-free, so that work is skipped for them.
            hinting=hinting or not hints,
            desubroutinize=subrs,
            notdef_outline=bool(font.missing),
        )
        options.drop_tables += [tag.strip() for tag in _DROPPED_TABLES]
        subsetter = subset.Subsetter(options)
        subsetter.populate(gids=to_unicode)
        subsetter.subset(ttfont)
        output = io.BytesIO()
        ttfont.save(output)
    except TTLibError:  # as WeasyPrint does: embed the whole font rather than fail the render
        log.warning("unable to subset font %r with fontTools", font.family)
        return
    font.file_content = output.getvalue()


#: CFF private-dict entries that only hinting uses (fontTools removes them with the hints).
_CFF_HINT_KEYS = {
    "BlueValues", "OtherBlues", "FamilyBlues", "FamilyOtherBlues", "BlueScale", "BlueShift", "BlueFuzz",
    "StdHW", "StdVW", "StemSnapH", "StemSnapV", "ForceBold", "LanguageGroup", "ExpansionFactor",
}  # fmt: skip


def _cff_traits(ttfont: Any) -> tuple[bool, bool]:
    """Whether a font may have subroutines and hints: true unless its CFF shows neither."""
    if "CFF " not in ttfont:
        return True, True  # TrueType outlines, or CFF2: WeasyPrint's own options
    cff = ttfont["CFF "].cff
    subrs = len(cff.GlobalSubrs) > 0
    hints = False
    for top in cff.topDictIndex:
        privates = [fd.Private for fd in top.FDArray] if hasattr(top, "FDArray") else [top.Private]
        for private in privates:
            subrs = subrs or len(getattr(private, "Subrs", ())) > 0
            hints = hints or bool(_CFF_HINT_KEYS & set(private.rawDict))
    return subrs, hints


# ------------------------------------------------------------------------------------- TrueType, fast
#
# fontTools reads and rewrites every glyph of a font for each subset, which for a large font (a CJK
# face holds tens of thousands of glyphs) costs far more than laying the page out. A TrueType font
# needs nothing so general: its glyphs are byte strings found through `loca`, so a subset that keeps
# glyph ids copies the used glyphs' bytes (hinting cut out unless asked for) and cuts the per-glyph
# tables short after the last used glyph. What that needs of a font is read once per process.

#: Tables only hinting uses, kept with it.
_HINTING_TABLES = ("cvt ", "fpgm", "prep")
#: Tables that mean the font needs more than glyph bytes copied: fontTools handles those fonts.
_NOT_PLAIN = ("fvar", "gvar", "COLR", "CBDT", "sbix", "EBDT", "SVG ", "CFF ", "CFF2")

# Composite glyph flags (OpenType `glyf` table).
_ARG_WORDS, _SCALE, _MORE, _XY_SCALE, _TWO_BY_TWO, _INSTRUCTIONS = 0x1, 0x8, 0x20, 0x40, 0x80, 0x100


@dataclass(frozen=True)
class _TrueType:
    """What subsetting needs of one TrueType face, read once."""

    tables: dict[str, bytes]
    offsets: array.array[int]  # loca, as byte offsets into glyf (one more than the glyphs)
    cmap: dict[int, int]  # code point -> glyph id, from the font's best Unicode cmap


#: Faces read so far, least recently used first out: (hash, length, index) -> (the font's bytes, the face), or
#: (None, None) for a face left to fontTools (a hash collision there only costs time). Bounded by
#: count and by the bytes of the fonts kept.
_FACES: OrderedDict[tuple[int, int, int], tuple[bytes | None, Any]] = OrderedDict()
_FACES_MAX, _FACES_BYTES = 16, 64 * 2**20
_FACES_LOCK = threading.Lock()


def _face(content: bytes, index: int) -> Any:
    """The face `index` of a font file's bytes, read once per process: a `_TrueType`, a `_Cff` or None."""
    key = (hash(content), len(content), index)
    with _FACES_LOCK:
        kept, face = _FACES.get(key, (b"", None))
        if kept is None or kept == content:
            _FACES.move_to_end(key)
            return face
    try:
        face = _read_face(content, index)
    except Exception:  # a font this reading does not expect: fontTools knows more fonts
        log.debug("font face %d not read for quick subsetting", index, exc_info=True)
        face = None
    with _FACES_LOCK:
        _FACES[key] = (content, face) if face is not None else (None, None)
        while len(_FACES) > 1 and (
            len(_FACES) > _FACES_MAX or sum(len(c or b"") for c, _ in _FACES.values()) > _FACES_BYTES
        ):
            _FACES.popitem(last=False)
    return face


#: The tables a subset is made from; the others are left out of it.
_READ = ("head", "hhea", "maxp", "OS/2", "hmtx", "vhea", "vmtx", "name", "post", "gasp", "glyf", "CFF ",
         *_HINTING_TABLES)  # fmt: skip


def _read_face(content: bytes, index: int) -> Any:
    from fontTools.ttLib import TTFont, newTable
    from fontTools.ttLib.sfnt import SFNTReader

    reader = SFNTReader(io.BytesIO(content), fontNumber=index)
    tags = set(reader.keys())
    outlines = "glyf" if "glyf" in tags else "CFF "
    needed = {"head", "hhea", "maxp", "hmtx", "cmap", outlines, "loca" if outlines == "glyf" else "CFF "}
    if not needed <= tags or tags & set(_NOT_PLAIN) - {outlines}:
        return None
    tables = {tag: bytes(reader[tag]) for tag in _READ if tag in tags}
    count = struct.unpack_from(">H", tables["maxp"], 4)[0]
    for header, metrics in (("hhea", "hmtx"), ("vhea", "vmtx")):
        if header in tables and not _metrics_fit(tables[header], tables.get(metrics, b""), count):
            return None
    offsets = array.array("I")
    cff = None
    if outlines == "glyf":
        words = not struct.unpack_from(">h", tables["head"], 50)[0]  # short offsets count 2-byte words
        offsets = array.array("H" if words else "I", reader["loca"][: (2 if words else 4) * (count + 1)])
        if sys.byteorder == "little":
            offsets.byteswap()
        if len(offsets) != count + 1:
            return None
        if words:
            offsets = array.array("I", (offset * 2 for offset in offsets))
    else:
        cff = _read_cff(tables, count)
        if cff is None:
            return None
    # Glyph names are never needed: numbered names spare reading the whole `post` table.
    names = [f"g{gid}" for gid in range(count)]
    ttfont = TTFont()
    ttfont.setGlyphOrder(names)
    table = newTable("cmap")
    table.decompile(reader["cmap"], ttfont)
    ids = {name: gid for gid, name in enumerate(names)}
    cmap = {code: ids[name] for code, name in (table.getBestCmap() or {}).items() if name in ids}
    if cff is not None:
        return _Cff(tables=tables, cmap=cmap, **cff)
    return _TrueType(tables=tables, offsets=offsets, cmap=cmap)


def _metrics_fit(header: bytes, metrics: bytes, count: int) -> bool:
    long = struct.unpack_from(">H", header, 34)[0]
    return 0 < long <= count and len(metrics) >= 4 * long + 2 * (count - long)


def _truetype_subset(face: _TrueType, gids: Iterable[int], hinting: bool, notdef_outline: bool) -> bytes:
    """A TrueType subset keeping glyph ids: `gids` and the glyphs they are built of, nothing after."""
    tables, offsets = face.tables, face.offsets
    glyf = tables["glyf"]
    count = len(offsets) - 1
    glyphs: dict[int, bytes] = {}
    wanted = {gid for gid in gids if 0 <= gid < count}
    pending = list(wanted)
    while pending:
        gid = pending.pop()
        if gid in glyphs:
            continue
        data, components = _glyph(glyf[offsets[gid] : offsets[gid + 1]], hinting)
        glyphs[gid] = data
        pending.extend(c for c in components if c < count and c not in glyphs)
    if not notdef_outline:
        glyphs[0] = b""
    glyphs.setdefault(0, b"")
    total = max(glyphs) + 1

    parts: list[bytes] = []
    loca, position = array.array("I", [0]), 0
    for gid in sorted(glyphs):
        data = glyphs[gid]
        data += b"\0" * (-len(data) % 4)
        loca.extend([position] * (gid + 1 - len(loca)))
        parts.append(data)
        position += len(data)
        loca.append(position)
    loca.extend([position] * (total + 1 - len(loca)))
    short = position < 0x20000  # every offset even (glyphs are padded), so halves fit in 16 bits
    if short:
        loca = array.array("H", [offset >> 1 for offset in loca])
    if sys.byteorder == "little":
        loca.byteswap()

    out = _common_tables(tables)
    if "gasp" in tables:
        out["gasp"] = tables["gasp"]
    if hinting:
        out.update((tag, tables[tag]) for tag in _HINTING_TABLES if tag in tables)
    out["glyf"] = b"".join(parts) or b"\0"
    out["loca"] = loca.tobytes()
    head = bytearray(out["head"])
    head[50:52] = struct.pack(">h", 0 if short else 1)  # indexToLocFormat
    out["head"] = bytes(head)
    out.update(_glyph_tables(face.tables, face.cmap, total, glyphs, wanted))
    if "vhea" in tables and "vmtx" in tables:
        out["vhea"], out["vmtx"] = _metrics(tables["vhea"], tables["vmtx"], total, glyphs)
    return _write_sfnt(out, "\0\1\0\0")


def _common_tables(tables: dict[str, bytes]) -> dict[str, bytes]:
    """The tables a subset takes from the font whatever glyphs it keeps: `head`, `OS/2`, `name`, `post`."""
    out = {"head": tables["head"][:8] + b"\0\0\0\0" + tables["head"][12:]}  # its checksum set on writing
    if "OS/2" in tables:
        out["OS/2"] = tables["OS/2"]
    names = _names(tables["name"]) if "name" in tables else b""
    if names:
        out["name"] = names
    if "post" in tables:
        out["post"] = struct.pack(">I", 0x00030000) + tables["post"][4:32]  # no glyph names
    return out


def _glyph_tables(
    tables: dict[str, bytes], cmap: dict[int, int], total: int, kept: Iterable[int], wanted: set[int]
) -> dict[str, bytes]:
    """`maxp`, `hhea`, `hmtx` and `cmap` for `total` glyphs, `kept` of them drawn, `wanted` mapped."""
    maxp = bytearray(tables["maxp"])
    maxp[4:6] = struct.pack(">H", total)
    hhea, hmtx = _metrics(tables["hhea"], tables["hmtx"], total, kept)
    mapped = _cmap({code: gid for code, gid in cmap.items() if gid and gid in wanted})
    return {"maxp": bytes(maxp), "hhea": hhea, "hmtx": hmtx, "cmap": mapped}


def _table_order(tag: str) -> tuple[int, str]:
    order = ("head", "hhea", "maxp", "OS/2", "hmtx", "cmap", "loca", "glyf")
    return (order.index(tag), tag) if tag in order else (len(order), tag)


def _glyph(data: bytes, hinting: bool) -> tuple[bytes, list[int]]:
    """A glyph's bytes (its instructions removed unless `hinting`) and the glyphs it is built of."""
    if len(data) < 10:
        return b"", []
    contours = struct.unpack_from(">h", data)[0]
    if contours == 0 and len(data) < 12:
        return b"", []  # a header and nothing to draw
    if contours >= 0:
        at = 10 + 2 * contours
        points = struct.unpack_from(">H", data, at - 2)[0] + 1 if contours else 0
        length = struct.unpack_from(">H", data, at)[0]
        end = _outline_end(data, at + 2 + length, points)  # the font may pad after it
        if hinting:
            return data[:end], []
        return data[:at] + b"\0\0" + data[at + 2 + length : end], []
    components, at, flags = [], 10, _MORE
    out = bytearray(data)
    while flags & _MORE:
        flags, gid = struct.unpack_from(">HH", data, at)
        components.append(gid)
        if not hinting:
            struct.pack_into(">H", out, at, flags & ~_INSTRUCTIONS)
        at += 4 + (4 if flags & _ARG_WORDS else 2)
        at += 2 if flags & _SCALE else 4 if flags & _XY_SCALE else 8 if flags & _TWO_BY_TWO else 0
    if hinting and flags & _INSTRUCTIONS:
        at += 2 + struct.unpack_from(">H", data, at)[0]
    if at > len(data):
        raise ValueError("composite glyph runs past its data")
    return bytes(out[:at]), components


def _outline_end(data: bytes, at: int, points: int) -> int:
    """Where a simple glyph's outline ends: its flags start at `at`, its coordinates follow."""
    x_bytes = y_bytes = 0
    while points > 0:
        flag = data[at]
        repeat = 1 + (data[at + 1] if flag & 0x08 else 0)
        at += 2 if flag & 0x08 else 1
        x_bytes += repeat * (1 if flag & 0x02 else 0 if flag & 0x10 else 2)
        y_bytes += repeat * (1 if flag & 0x04 else 0 if flag & 0x20 else 2)
        points -= repeat
    end = at + x_bytes + y_bytes
    if end > len(data):
        raise ValueError("glyph outline runs past its data")
    return end


def _metrics(header: bytes, metrics: bytes, total: int, kept: Iterable[int]) -> tuple[bytes, bytes]:
    """`hhea` and `hmtx` (or `vhea` and `vmtx`) for `total` glyphs: the `kept` ones' metrics, else zeros.

    Zeros, as other subsetters write, also let the PDF's compression make little of them.
    """
    long = struct.unpack_from(">H", header, 34)[0]
    if not long:
        raise ValueError("no metrics")
    out = bytearray(4 * total)
    for gid in kept:
        if gid < long:
            out[4 * gid : 4 * gid + 4] = metrics[4 * gid : 4 * gid + 4]
        else:
            out[4 * gid : 4 * gid + 2] = metrics[4 * long - 4 : 4 * long - 2]
            at = 4 * long + 2 * (gid - long)
            out[4 * gid + 2 : 4 * gid + 4] = metrics[at : at + 2]
    head = bytearray(header)
    head[34:36] = struct.pack(">H", total)
    return bytes(head), bytes(out)


def _cmap(mapping: dict[int, int]) -> bytes:
    """A `cmap` table mapping code points to glyph ids: format 4 for the BMP, and 12 if beyond it."""
    runs: list[list[int]] = []  # [first code, last code, first glyph id]
    for code in sorted(mapping):
        gid = mapping[code]
        if runs and code == runs[-1][1] + 1 and gid == runs[-1][2] + code - runs[-1][0]:
            runs[-1][1] = code
        else:
            runs.append([code, code, gid])
    subtables = []
    bmp = [run for run in runs if run[1] <= 0xFFFE]
    segments = [*bmp, [0xFFFF, 0xFFFF, 1]]
    count = len(segments)
    if 16 + 8 * count > 0xFFFF:
        raise ValueError("too many code point ranges for a format 4 cmap")
    power = 1 << (count.bit_length() - 1)
    ends = [end for _, end, _ in segments]
    starts = [start for start, _, _ in segments]
    deltas = [(gid - start) % 0x10000 for start, _, gid in segments]
    body = struct.pack(f">{count}H", *ends) + b"\0\0" + struct.pack(f">{count}H", *starts)
    body += struct.pack(f">{count}H", *deltas) + b"\0\0" * count
    header = struct.pack(">HHHHHHH", 4, 14 + len(body), 0, 2 * count, 2 * power,
                         power.bit_length() - 1, 2 * count - 2 * power)  # fmt: skip
    subtables.append(((3, 1), header + body))
    if any(run[1] > 0xFFFF for run in runs):
        groups = b"".join(struct.pack(">III", *run) for run in runs)
        subtables.append(((3, 10), struct.pack(">HHIII", 12, 0, 16 + len(groups), 0, len(runs)) + groups))
    directory = struct.pack(">HH", 0, len(subtables))
    data, offset = b"", 4 + 8 * len(subtables)
    for (platform, encoding), table in subtables:
        directory += struct.pack(">HHI", platform, encoding, offset + len(data))
        data += table
    return directory + data


# ------------------------------------------------------------------------------------------ CFF, fast
#
# A CFF font whose charstrings call no subroutines (as the bundled Inter is stored) is subset the same
# way: the used glyphs' charstrings are copied and every other one up to the last used becomes a bare
# `endchar`, keeping glyph ids; the private dict is copied, and the top dict points at the new places.


@dataclass(frozen=True)
class _Cff:
    """What subsetting needs of one name-keyed CFF face without subroutines, read once."""

    tables: dict[str, bytes]
    head: bytes  # the CFF header and name index
    top: list[tuple[int, bytes]]  # the top dict's entries but offsets: (operator, operand bytes)
    strings: bytes  # the string and global subroutine indexes
    charset: tuple[int, ...] | None  # each glyph's string id after .notdef; None: a predefined charset
    private: bytes
    charstrings: tuple[bytes, ...]
    cmap: dict[int, int]


#: Top dict operators whose operands are offsets (rewritten), and those of CID-keyed or unusual fonts.
_CFF_CHARSET, _CFF_ENCODING, _CFF_CHARSTRINGS, _CFF_PRIVATE = 15, 16, 17, 18
_CFF_NOT_FLAT = {12 << 8 | 30, 12 << 8 | 36, 12 << 8 | 37, 12 << 8 | 6}  # ROS, FDArray, FDSelect, type


def _read_cff(tables: dict[str, bytes], count: int) -> dict[str, Any] | None:
    """The parts of a CFF table `_Cff` holds, or None if it is CID-keyed or has subroutines."""
    data = tables["CFF "]
    names_end = _index(data, data[2])[1]
    top_items, top_end = _index(data, names_end)
    _, strings_end = _index(data, top_end)
    subrs, subrs_end = _index(data, strings_end)
    if len(top_items) != 1 or subrs:
        return None
    entries = _dict_entries(top_items[0])
    values = dict(entries)
    if _CFF_NOT_FLAT & set(values) or _CFF_CHARSTRINGS not in values or _CFF_PRIVATE not in values:
        return None
    if _dict_ints(values.get(_CFF_ENCODING, b"\x8b")) != [0]:
        return None  # a custom encoding: not in OpenType fonts
    charstrings, _ = _index(data, _dict_ints(values[_CFF_CHARSTRINGS])[0])
    if len(charstrings) != count:
        return None
    private_size, private_at = _dict_ints(values[_CFF_PRIVATE])
    private = data[private_at : private_at + private_size]
    if 19 in {op for op, _ in _dict_entries(private)}:
        return None  # local subroutines
    (charset_at,) = _dict_ints(values.get(_CFF_CHARSET, b"\x8b"))
    keep = (_CFF_CHARSET, _CFF_CHARSTRINGS, _CFF_PRIVATE)
    return {
        "head": data[:names_end],
        "top": [(op, operands) for op, operands in entries if op not in keep],
        "strings": data[top_end:subrs_end],
        "charset": _charset(data, charset_at, count) if charset_at > 2 else None,
        "private": private,
        "charstrings": tuple(charstrings),
    }


def _cff_subset(face: _Cff, gids: Iterable[int], notdef_outline: bool) -> bytes:
    """A CFF subset keeping glyph ids: the glyphs `gids` drawn, every other glyph empty.

    Charstrings are copied whole, hints and all (HarfBuzz and fontTools may drop hints; a PDF
    reader draws the same either way).
    """
    count = len(face.charstrings)
    wanted = {gid for gid in gids if 0 <= gid < count}
    for gid in wanted:
        if not _plain_charstring(face.charstrings[gid]):
            raise ValueError(f"glyph {gid} is built of others or calls subroutines")
    total = max(wanted, default=0) + 1  # glyphs after the last one used are left out
    charstrings = [face.charstrings[gid] if gid in wanted else b"\x0e" for gid in range(total)]
    charstrings[0] = face.charstrings[0] if notdef_outline else b"\x0e"
    charset = b""
    if face.charset is not None:
        charset = b"\0" + struct.pack(f">{total - 1}H", *face.charset[: total - 1])
    top_size = len(_top_dict(face, 0, 0, 0))
    top_index = _build_index([b"\0" * top_size])
    after = len(face.head) + len(top_index) + len(face.strings)
    private_at = after + len(charset)
    charstrings_at = private_at + len(face.private)
    top = _top_dict(face, after, private_at, charstrings_at)
    cff = b"".join(
        (face.head, _build_index([top]), face.strings, charset, face.private, _build_index(charstrings))
    )
    out = _common_tables(face.tables)
    out.update(_glyph_tables(face.tables, face.cmap, total, {0, *wanted}, wanted))
    out["CFF "] = cff
    return _write_sfnt(out, "OTTO")


def _top_dict(face: _Cff, charset_at: int, private_at: int, charstrings_at: int) -> bytes:
    """The top dict with offsets written as five-byte integers, so its length never changes."""
    parts = [operands + _dict_operator(op) for op, operands in face.top]
    if face.charset is not None:
        parts.append(_dict_int(charset_at) + _dict_operator(_CFF_CHARSET))
    parts.append(_dict_int(charstrings_at) + _dict_operator(_CFF_CHARSTRINGS))
    parts.append(_dict_int(len(face.private)) + _dict_int(private_at) + _dict_operator(_CFF_PRIVATE))
    return b"".join(parts)


def _dict_int(value: int) -> bytes:
    return b"\x1d" + struct.pack(">i", value)


def _dict_operator(op: int) -> bytes:
    return bytes((12, op & 0xFF)) if op >> 8 else bytes((op,))


def _dict_entries(data: bytes) -> list[tuple[int, bytes]]:
    """A CFF dict's entries in order: (operator, its operands' bytes); two-byte operators as 12 << 8 | b."""
    entries, at, start = [], 0, 0
    while at < len(data):
        byte = data[at]
        if byte <= 21:
            op = 12 << 8 | data[at + 1] if byte == 12 else byte
            entries.append((op, data[start:at]))
            at += 2 if byte == 12 else 1
            start = at
        elif byte == 28:
            at += 3
        elif byte == 29:
            at += 5
        elif byte == 30:  # a real number: nibbles up to an 0xF
            at += 1
            while data[at] & 0x0F != 0x0F and data[at] >> 4 != 0x0F:
                at += 1
            at += 1
        elif byte <= 246:
            at += 1
        elif byte <= 254:
            at += 2
        else:
            raise ValueError("reserved byte in a CFF dict")
    return entries


def _dict_ints(data: bytes) -> list[int]:
    """The integer operands of a dict entry (a real number among them is refused)."""
    values, at = [], 0
    while at < len(data):
        byte = data[at]
        if byte == 28:
            values.append(struct.unpack_from(">h", data, at + 1)[0])
            at += 3
        elif byte == 29:
            values.append(struct.unpack_from(">i", data, at + 1)[0])
            at += 5
        elif 32 <= byte <= 246:
            values.append(byte - 139)
            at += 1
        elif 247 <= byte <= 250:
            values.append((byte - 247) * 256 + data[at + 1] + 108)
            at += 2
        elif 251 <= byte <= 254:
            values.append(-(byte - 251) * 256 - data[at + 1] - 108)
            at += 2
        else:
            raise ValueError("not an integer operand")
    return values


def _index(data: bytes, at: int) -> tuple[list[bytes], int]:
    """A CFF INDEX's items and where it ends."""
    count = struct.unpack_from(">H", data, at)[0]
    if not count:
        return [], at + 2
    size = data[at + 2]
    raw = data[at + 3 : at + 3 + (count + 1) * size]
    offsets = [int.from_bytes(raw[i : i + size], "big") for i in range(0, len(raw), size)]
    base = at + 2 + (count + 1) * size  # offsets count from 1
    items = [data[base + offsets[i] : base + offsets[i + 1]] for i in range(count)]
    return items, base + offsets[-1]


def _build_index(items: list[bytes]) -> bytes:
    if not items:
        return b"\0\0"
    offsets = [1]
    for item in items:
        offsets.append(offsets[-1] + len(item))
    size = (offsets[-1].bit_length() + 7) // 8
    return b"".join(
        (struct.pack(">HB", len(items), size), *(o.to_bytes(size, "big") for o in offsets), *items)
    )


def _charset(data: bytes, at: int, glyphs: int) -> tuple[int, ...]:
    """The string ids a charset (format 0, 1 or 2) gives glyphs 1 to `glyphs` - 1."""
    kind, at = data[at], at + 1
    if kind == 0:
        return struct.unpack_from(f">{glyphs - 1}H", data, at)
    if kind not in (1, 2):
        raise ValueError(f"unknown charset format {kind}")
    sids: list[int] = []
    while len(sids) < glyphs - 1:
        first = struct.unpack_from(">H", data, at)[0]
        left = data[at + 2] if kind == 1 else struct.unpack_from(">H", data, at + 2)[0]
        at += 3 if kind == 1 else 4
        sids.extend(range(first, first + left + 1))
    return tuple(sids[: glyphs - 1])


def _plain_charstring(data: bytes) -> bool:
    """Whether a Type 2 charstring draws alone: no subroutine calls, no accented-character `endchar`."""
    stack = stems = at = 0
    while at < len(data):
        byte = data[at]
        if byte >= 32 or byte == 28:
            at += 1 if byte <= 246 else 2 if byte <= 254 else 5
            at += 2 if byte == 28 else 0
            stack += 1
            continue
        at += 1
        if byte in (10, 29, 11):  # callsubr, callgsubr, return
            return False
        if byte in (1, 3, 18, 23):  # stem hints
            stems += stack // 2
        elif byte in (19, 20):  # hintmask, cntrmask: a bit per stem follows
            stems += stack // 2
            at += (stems + 7) // 8
        elif byte == 14:
            return stack < 4  # four operands (five with a width) make it `seac`
        elif byte == 12:
            at += 1
        stack = 0
    return True


def _names(data: bytes) -> bytes:
    """The `name` table cut to the Windows English names 0 to 6, as fontTools' subsetting keeps."""
    count, strings_at = struct.unpack_from(">2xHH", data)
    records = []
    for i in range(count):
        platform, encoding, language, name_id, length, offset = struct.unpack_from(">6H", data, 6 + 12 * i)
        if platform == 3 and language == 0x409 and name_id <= 6:
            text = data[strings_at + offset : strings_at + offset + length]
            records.append((platform, encoding, language, name_id, text))
    if not records:
        return b""
    header = struct.pack(">HHH", 0, len(records), 6 + 12 * len(records))
    directory, strings = b"", b""
    for platform, encoding, language, name_id, text in sorted(records):
        directory += struct.pack(">6H", platform, encoding, language, name_id, len(text), len(strings))
        strings += text
    return header + directory + strings


def _write_sfnt(tables: dict[str, bytes], version: str) -> bytes:
    from fontTools.ttLib.sfnt import SFNTWriter

    output = io.BytesIO()
    writer = SFNTWriter(output, len(tables), sfntVersion=version)
    for tag in sorted(tables, key=_table_order):
        writer[tag] = tables[tag]
    writer.close()
    return output.getvalue()
