"""Facts read back from a finished PDF's bytes, for the steps that assemble or show PDFs."""

from __future__ import annotations

import io

from .errors import RenderError


def page_count(pdf: bytes) -> int:
    """How many pages `pdf` has."""
    import pikepdf

    try:
        with pikepdf.Pdf.open(io.BytesIO(pdf), attempt_recovery=False) as document:
            return len(document.pages)
    except (pikepdf.PdfError, ValueError, OSError) as exc:
        raise RenderError(f"not a readable PDF: {exc}") from None
