"""A brief as one self-contained HTML page (`--format html`): the theme's stylesheets inline, fonts and
images as data URIs, every local file read through the same sandbox as a PDF render."""

from __future__ import annotations

import base64
import mimetypes
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from .errors import naming
from .guide import Guide
from .options import RenderOptions
from .pdf import make_fetcher, page_fetcher
from .templating import Page, build_page
from .themes import page_size_css

_CSS_URL_RE = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
_IMG_SRC_RE = re.compile(r"""(<img\b[^>]*?\bsrc=)(["'])([^"']*)\2""", re.I)


def render_html(guide: Guide, options: RenderOptions | None = None) -> str:
    """A guide's brief as one self-contained HTML page: styles inline, fonts and images as data URIs.

    A browser or the `weasyprint` command renders it the same way as `render_pdf`.
    """
    options = (options or RenderOptions()).pinned()
    with naming(guide.path):
        return inline_page(build_page(guide, options))


def inline_page(page: Page) -> str:
    """Inline the theme's stylesheets and every local resource of `page` (read through the sandbox)."""
    options = page.options
    theme_fetcher = make_fetcher(options.theme_roots, allow_network=False)
    css_parts = []
    for path in options.stylesheets:
        text = path.read_text(encoding="utf-8")
        css_parts.append(_inline_css_urls(text, path.resolve().parent, theme_fetcher))
    css_parts.append(page_size_css(options.page_size))
    style = "<style>\n" + "\n".join(css_parts) + "\n</style>\n"
    guide_fetcher = page_fetcher(page)
    html = _IMG_SRC_RE.sub(lambda m: _inline_img(m, page.base_dir, guide_fetcher), page.html)
    return html.replace("</head>", style + "</head>", 1)


def _data_uri(path: Path, data: bytes) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix.lower() == ".otf":
        mime = "font/otf"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _resolve_local(ref: str, base: Path, fetcher: Any) -> str | None:
    """A data URI for a relative or file: reference inside the sandbox, else None."""
    if ref.startswith(("data:", "#")):
        return ref
    parts = urlsplit(ref)
    if parts.scheme and parts.scheme != "file":
        return None
    url = ref if parts.scheme == "file" else (base / url2pathname(parts.path)).as_uri()
    try:
        path = fetcher.local_path(url)
        return _data_uri(path, fetcher.read(url, path))
    except (OSError, ValueError):
        return None


def _inline_css_urls(css: str, base: Path, fetcher: Any) -> str:
    def swap(match: re.Match[str]) -> str:
        inlined = _resolve_local(match.group(2), base, fetcher)
        return f'url("{inlined}")' if inlined else match.group(0)

    return _CSS_URL_RE.sub(swap, css)


def _inline_img(match: re.Match[str], base: Path, fetcher: Any) -> str:
    src = match.group(3)
    if urlsplit(src).scheme in ("http", "https"):
        return match.group(0)
    inlined = _resolve_local(src, base, fetcher)
    return f"{match.group(1)}{match.group(2)}{inlined or ''}{match.group(2)}"
