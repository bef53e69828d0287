"""A guide's brief, start to end: load -> body -> page -> PDF.

Each step is one module: `guide` loads the front matter and body, `markup` turns the body's Markdown
into safe HTML, `templating` puts it on the theme's page and `pdf` lays the page out with WeasyPrint.
`html_export` stops at the page and inlines what it references; `tasks` runs a brief on a worker.
"""

from __future__ import annotations

from .errors import naming
from .guide import Guide
from .options import RenderOptions
from .pdf import Rendered, page_to_pdf
from .sources import source_attachments
from .templating import build_page


def render_brief(guide: Guide, options: RenderOptions | None = None) -> Rendered:
    """A guide's brief as a `Rendered` PDF with its page count."""
    options = (options or RenderOptions()).pinned()
    attachments = source_attachments(guide) if options.attach_sources else ()
    with naming(guide.path):
        return page_to_pdf(build_page(guide, options), attachments=attachments)


def render_pdf(guide: Guide, options: RenderOptions | None = None) -> bytes:
    """A guide's brief as PDF bytes."""
    return render_brief(guide, options).pdf
