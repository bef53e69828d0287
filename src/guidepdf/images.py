"""Refuse decompression bombs: read an image's declared size from its header, before anyone decodes it."""

from __future__ import annotations

import io
import re
import warnings

#: Images declaring more pixels than this are refused (a 40-megapixel photo is already generous for print).
MAX_PIXELS = 40_000_000


def declared_pixels(data: bytes) -> int | None:
    """Width × height from the image header, or None when Pillow does not know the format (SVG, fonts)."""
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
