"""The render options shared by the CLI and the API: one frozen value that decides a brief's bytes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from .errors import UsageError
from .themes import builtin_dir, builtin_styles

PAGE_SIZES = {"a4": "A4", "letter": "Letter"}
PDF_VARIANTS = ("pdf/a-3b", "pdf/ua-1")
DEFAULT_MAX_PAGES = 200


@dataclass(frozen=True)
class RenderOptions:
    """Everything besides the guide that decides a brief's output."""

    templates: tuple[Path, ...] = ()
    styles: tuple[Path, ...] = ()
    page_size: str = "A4"
    as_of: date | None = None
    pdf_variant: str | None = None
    allow_network: bool = False
    template: str = "brief.html.j2"
    #: Tagged PDF (structure tree, reading order, alt text): on by default for accessibility.
    tagged: bool = True
    #: Embed the guide file and its front matter as JSON, so a brief can be traced and re-read.
    attach_sources: bool = True
    #: A guide laying out to more pages than this fails instead of writing a runaway PDF (0: no limit).
    max_pages: int = DEFAULT_MAX_PAGES
    #: Refuse a guide with `guidepdf check` errors instead of rendering it (`--no-check` turns this off).
    check: bool = True
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        size = PAGE_SIZES.get(str(self.page_size).lower())
        if size is None:
            raise UsageError(f"--page-size: expected A4 or Letter, got {self.page_size!r}")
        object.__setattr__(self, "page_size", size)
        if self.pdf_variant is not None and self.pdf_variant.lower() not in PDF_VARIANTS:
            raise UsageError(
                f"--pdf-variant: expected one of {', '.join(PDF_VARIANTS)}, got {self.pdf_variant!r}"
            )
        if isinstance(self.max_pages, bool) or not isinstance(self.max_pages, int) or self.max_pages < 0:
            raise UsageError(f"--max-pages: expected a whole number of pages, got {self.max_pages!r}")
        object.__setattr__(self, "templates", tuple(Path(p) for p in self.templates))
        object.__setattr__(self, "styles", tuple(Path(p) for p in self.styles))

    @property
    def today(self) -> date:
        """The as-of date: the one given, else today."""
        return self.as_of or date.today()

    def pinned(self) -> RenderOptions:
        """A copy with the as-of date fixed, so work sent elsewhere renders the same day."""
        return replace(self, as_of=self.today)

    @property
    def stylesheets(self) -> tuple[Path, ...]:
        """Built-in stylesheets first, then the user's, which therefore win."""
        return (*builtin_styles(), *self.styles)

    @property
    def theme_roots(self) -> tuple[Path, ...]:
        """Folders a render may read besides the guide's own: built-in and user theme folders."""
        roots = [builtin_dir("templates"), builtin_dir("styles"), *self.templates]
        roots += [style.parent for style in self.styles]
        return tuple(dict.fromkeys(p.resolve() for p in roots))
