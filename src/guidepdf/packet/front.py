"""A packet's front matter (cover and contents) and its page-number overlay, as HTML."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..guide import Guide
from ..options import RenderOptions
from ..templating import render_template
from ..themes import builtin_dir

#: Links in the front matter point here; joining turns them into links to each guide's first page.
PART_SCHEME = "guidepdf-part:"


@dataclass(frozen=True)
class Entry:
    """One guide's place in a packet, as the front matter template sees it."""

    index: int
    guide: Guide
    start: int
    pages: int


def front_options(options: RenderOptions) -> RenderOptions:
    """The parts' options with the packet stylesheet (after the brief's, before the user's)."""
    styles = (builtin_dir("styles") / "packet.css", *options.styles)
    return replace(options, styles=styles, max_pages=0, attach_sources=False)


def folio_options(options: RenderOptions) -> RenderOptions:
    """The page-number overlay is untagged and claims nothing: joining marks all of it as an artifact
    (tags inside an artifact would break PDF/UA), and the packet makes the front matter's claim."""
    return replace(front_options(options), tagged=False, pdf_variant=None)


def front_matter_html(
    title: str, entries: Sequence[Entry], options: RenderOptions, comparison: dict[str, Any] | None = None
) -> str:
    """The cover and the contents (one table, also the overview) as HTML."""
    companies = list(dict.fromkeys(e.guide.company_display for e in entries if e.guide.company_display))
    context = {
        "title": title,
        "as_of": options.today,
        "guides": [
            {
                "index": e.index,
                "guide": e.guide,
                "start": e.start,
                "pages": e.pages,
                "headline": e.guide.headline,
                "overdue": e.guide.review_overdue(options.today),
            }
            for e in entries
        ],
        "companies": companies if len(companies) <= 40 else [],
        "about": about_fields([e.guide for e in entries]),
        "comparison": comparison,
        "options": options,
        "page_size": options.page_size,
    }
    return render_template("packet.html.j2", context, options)


def folios_html(title: str, pages: int, options: RenderOptions) -> str:
    """`pages` blank pages carrying only "Page N of M", stamped over the briefs' pages."""
    return render_template("packet-folios.html.j2", {"title": title, "pages": pages}, options)


def about_fields(guides: Sequence[Guide]) -> dict[str, str]:
    """The packet's subject, keywords and author: what it holds, its companies, who wrote the guides."""
    companies = list(dict.fromkeys(g.company_display or g.title for g in guides))
    authors = {str(g.meta.get("author") or "").strip() for g in guides}
    count = f"{len(guides)} salary negotiation {'brief' if len(guides) == 1 else 'briefs'}"
    return {
        "subject": f"{count}: {', '.join(companies)}" if companies else count,
        "keywords": ", ".join(["salary negotiation", *companies]),
        # One author when every guide names the same one; otherwise the packet is guidepdf's work.
        "author": authors.pop() if len(authors) == 1 and "" not in authors else "guidepdf",
    }
