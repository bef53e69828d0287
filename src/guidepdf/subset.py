"""Font subsetting with fontTools, for machines where WeasyPrint finds no libharfbuzz-subset.

WeasyPrint 70's fallback saves each subset with `head.modified` set to the current time (so two
renders a second apart differ), and fontTools decompiles the GSUB and GPOS tables before dropping
them (most of a brief's time). The same subset, keeping the font's own timestamp and deleting the
dropped layout tables unread, gives bytes that never depend on the clock, about three times faster.
`guidepdf.pdf` puts `fonttools_subset` in place of WeasyPrint's `Font._fonttools_subset`; the
HarfBuzz path is untouched.
"""

from __future__ import annotations

import io
import logging
from typing import Any

log = logging.getLogger(__name__)


#: Tables WeasyPrint's subsetting drops (besides hinting), and GDEF, which only they use; deleted
#: before fontTools would parse them.
_DROPPED_TABLES = ("GSUB", "GPOS", "SVG ", "GDEF")


def fonttools_subset(font: Any, to_unicode: Any, hinting: bool) -> None:
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
