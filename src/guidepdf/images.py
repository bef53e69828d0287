"""Refuse decompression bombs: read an image's declared size from its content, before anyone decodes it.

The format is sniffed from the bytes (PNG, JPEG, GIF, WebP, BMP, TIFF through Pillow; SVG by its root
element), never from a file name or a Content-Type, which an attacker chooses.
"""

from __future__ import annotations

import io
import re
import warnings

#: Images declaring more pixels than this are refused (a 40-megapixel photo is already generous for print).
MAX_PIXELS = 40_000_000


#: SVG lengths in CSS pixels per unit; `%` and unknown units give no size.
_SVG_UNITS = {"": 1.0, "px": 1.0, "pt": 96 / 72, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4}
_SVG_ROOT_RE = re.compile(rb"<svg\b([^>]*)>", re.I)
_SVG_ATTR_RE = re.compile(r"""\b(width|height)\s*=\s*(["'])(.*?)\2""", re.I | re.S)
_SVG_LENGTH_RE = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*([a-z%]*)\s*$", re.I)


def declared_pixels(data: bytes) -> int | None:
    """Width × height from the image's own header, or None when it declares no size (fonts, CSS)."""
    return _raster_pixels(data) or svg_pixels(data)


def svg_pixels(data: bytes) -> int | None:
    """Width × height (CSS pixels) an SVG's root element declares in its width and height."""
    head = data[:65536]
    if b"<svg" not in head.lower():
        return None
    root = _SVG_ROOT_RE.search(head)
    if root is None:
        return None
    found = _SVG_ATTR_RE.finditer(root.group(1).decode("utf-8", "replace"))
    attrs = {m.group(1).lower(): m.group(3) for m in found}
    # Only width and height: a viewBox is a coordinate system (maps use huge ones), not a size.
    width, height = _svg_length(attrs.get("width")), _svg_length(attrs.get("height"))
    if width is None or height is None:
        return None
    return int(width * height)


def _svg_length(text: str | None) -> float | None:
    match = _SVG_LENGTH_RE.match(text or "")
    if match is None or match.group(2).lower() not in _SVG_UNITS:
        return None
    value = abs(float(match.group(1))) * _SVG_UNITS[match.group(2).lower()]
    return min(value, 10.0**9)  # 1e400 parses as inf; a billion pixels a side is refused all the same


def _raster_pixels(data: bytes) -> int | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                return width * height
    except Image.DecompressionBombError as exc:
        # Pillow refuses far-too-large images on open; its message carries the declared pixel count.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        return int(found.group(1)) if found else MAX_PIXELS + 1
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def oversize_reason(data: bytes, limit: int = MAX_PIXELS) -> str | None:
    """Why an image must be refused (it declares more than `limit` pixels), or None when it is fine."""
    pixels = declared_pixels(data)
    if pixels is None or pixels <= limit:
        return None
    return f"image declares {pixels:,} pixels, over the {limit:,}-pixel limit"
