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

from .errors import GuidepdfError, RenderError, UsageError
from .options import RenderOptions
from .pdfinfo import page_count

#: The largest PDF file a preview reads.
MAX_PDF_BYTES = 2_000_000_000


def is_pdf(path: Path) -> bool:
    """Whether `preview_png` reads `path` as a PDF (else as a guide, rendered first)."""
    return path.suffix.lower() == ".pdf"


def preview_png(path: Path, page: int = 1, dpi: int = 100, options: RenderOptions | None = None) -> bytes:
    """Page `page` of the PDF at `path`, or of the brief of the guide there (rendered with
    `options`), as PNG bytes; errors name the file."""
    if is_pdf(path):
        from .reading import read_limited

        try:
            pdf = read_limited(path, MAX_PDF_BYTES)  # a regular file: `/dev/zero.pdf` must not fill memory
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    else:
        from .brief import render_pdf
        from .guide import load_guide

        pdf = render_pdf(load_guide(path), options)
    try:
        return page_png(pdf, page, dpi)
    except GuidepdfError as exc:
        if isinstance(exc, UsageError):
            raise
        raise type(exc)(f"{path}: {exc}") from None


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
