"""One page of a PDF as a PNG image: for previews, documentation screenshots and quick looks.

Uses pypdfium2 when installed (the `preview` extra), else poppler's `pdftoppm`; both give the same
picture of the same page, and neither is needed to render PDFs.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import RenderError, UsageError
from .pdfinfo import page_count


def page_png(pdf: bytes, page: int = 1, dpi: int = 100) -> bytes:
    """Page `page` (1-based) of `pdf` as PNG bytes at `dpi` dots per inch."""
    pages = page_count(pdf)
    if not 1 <= page <= pages:
        raise UsageError(f"--page {page}: the PDF has {pages} page{'s' if pages != 1 else ''}")
    try:
        import pypdfium2
    except ImportError:
        return _pdftoppm(pdf, page, dpi)
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[page - 1].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        document.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _pdftoppm(pdf: bytes, page: int, dpi: int) -> bytes:
    if shutil.which("pdftoppm") is None:
        raise RenderError("previews need pypdfium2 (pip install 'guidepdf[preview]') or poppler's pdftoppm")
    with tempfile.TemporaryDirectory(prefix="guidepdf-preview-") as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        args = ["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile"]
        result = subprocess.run([*args, str(source), str(Path(folder) / "page")], capture_output=True)
        if result.returncode != 0:
            raise RenderError(f"pdftoppm failed: {result.stderr.decode(errors='replace').strip()}")
        return (Path(folder) / "page.png").read_bytes()
