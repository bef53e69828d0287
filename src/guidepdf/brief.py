"""A guide's brief, start to end: load -> body -> page -> PDF.

Each step is one module: `guide` loads the front matter and body, `markup` turns the body's Markdown
into safe HTML, `templating` puts it on the theme's page and `pdf` lays the page out with WeasyPrint.
`html_export` stops at the page and inlines what it references; `tasks` runs a brief on a worker.
"""

from __future__ import annotations

from pathlib import Path

from .errors import naming
from .guide import Guide, load_guide
from .options import RenderOptions
from .pdf import Rendered, page_to_pdf
from .sources import source_attachments
from .templating import brief_body, build_page


def render_brief(guide: Guide | Path | str, options: RenderOptions | None = None) -> Rendered:
    """A guide's brief (a loaded guide, or the path of one) as a `Rendered` PDF with its page count."""
    options = (options or RenderOptions()).pinned()
    if not isinstance(guide, Guide):
        guide = load_guide(guide)  # load: the front matter checked against the schema, and the body
    attachments = source_attachments(guide) if options.attach_sources else ()
    with naming(guide.path):  # every error names the guide's file
        body = brief_body(guide)  # body: the Markdown as safe HTML, with its headings
        page = build_page(guide, options, body)  # page: the theme's template around it
        return page_to_pdf(page, attachments=attachments)  # PDF: laid out and written by WeasyPrint


def render_pdf(guide: Guide | Path | str, options: RenderOptions | None = None) -> bytes:
    """A guide's brief (a loaded guide, or the path of one) as PDF bytes."""
    return render_brief(guide, options).pdf
