"""HTML → PDF with WeasyPrint (the only module that imports it), through a sandboxed URL fetcher."""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import hashlib
import io
import logging
import mimetypes
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from .conform import finish_pdf
from .errors import RenderError
from .images import oversize_reason
from .libload import import_weasyprint
from .options import RenderOptions
from .reading import MAX_RESOURCE_BYTES, Refused, read_limited, real_path
from .sources import AttachmentSpec
from .subset import fonttools_subset
from .svgtext import shape_whole_runs
from .templating import Page
from .themes import builtin_dir, page_size_css

log = logging.getLogger(__name__)


class FetchRefused(ValueError):
    """The sandbox refused a URL: outside the allowed folders, or network without permission."""


@dataclass(frozen=True)
class Rendered:
    """A finished PDF, its page count and the URLs the sandbox refused to fetch."""

    pdf: bytes
    pages: int
    refused: tuple[str, ...] = ()


@functools.cache
def _fetcher_class() -> type:
    """Build the URLFetcher subclass on first use, so importing guidepdf does not import WeasyPrint."""
    _weasyprint()
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SandboxFetcher(URLFetcher):
        """Reads files only under the given roots; http(s) only when allowed; nothing else."""

        def __init__(
            self,
            roots: Iterable[Path],
            *,
            allow_network: bool = False,
            guide_dir: Path | None = None,
            images: bool = True,
        ) -> None:
            super().__init__(timeout=10, allow_redirects=allow_network)
            self.roots = tuple(Path(r).resolve() for r in roots)
            self.allow_network = allow_network
            self.guide_dir = guide_dir
            self.images = images
            self.refused: list[str] = []

        def real_url(self, url: str) -> str:
            """The file URL behind `GUIDE_BASE_URL`: the guide's folder on this machine."""
            if self.guide_dir is None or not url.startswith(GUIDE_BASE_URL):
                return url
            return self.guide_dir.as_uri() + "/" + url[len(GUIDE_BASE_URL) :]

        def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
            scheme = url.split(":", 1)[0].lower() if ":" in url else ""
            if scheme == "data":
                return self.guard_image(url, super().fetch(url, headers))
            if scheme == "file":
                real = self.real_url(url)  # messages name the file on this machine, not the fixed base
                path = self.local_path(real)
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, body=self.read(real, path), headers={"Content-Type": mime})
            if scheme in ("http", "https") and self.allow_network:
                return self.guard_image(url, super().fetch(url, headers))
            self.refused.append(url)
            raise FetchRefused(f"not allowed to fetch {url} (use --allow-network for http/https)")

        def local_path(self, url: str) -> Path:
            path = real_path(url2pathname(urlsplit(url).path))  # a symlink loop stays a loop: no raise
            if not any(path.is_relative_to(root) for root in self.roots):
                self.refused.append(url)
                raise FetchRefused(f"not allowed to read {path}: outside the guide and theme folders")
            if not path.is_file():
                raise FileNotFoundError(f"no such file: {path}")
            return path

        def read(self, url: str, path: Path) -> bytes:
            """A local file's bytes: a regular file, read up to the limit, refused if a bomb by content."""
            try:
                body = read_limited(path, MAX_RESOURCE_BYTES)
            except Refused as exc:
                self.refused.append(f"{url} (refused: {exc.strerror})")
                raise FetchRefused(f"refused {url}: {exc.strerror}") from None
            # Sniffed whatever the name says: `bomb.bin` or `bomb.svg` may hold a PNG all the same.
            # The package's own theme files (its fonts) are nobody's to choose, and a fetcher for
            # files that are embedded, never decoded, has no image to refuse: sniffing them would
            # only load every image reader Pillow has, on each cold start.
            if self.images and not path.is_relative_to(_own_styles()):
                self.refuse_oversize(url, body)
            return body

        def guard_image(self, url: str, response: Any) -> Any:
            """Read a response (up to the limit) and refuse a bomb, whatever its Content-Type claims."""
            body = response.read(MAX_RESOURCE_BYTES + 1)
            response.close()
            if len(body) > MAX_RESOURCE_BYTES:
                self.refused.append(f"{url[:200]} (refused: over {MAX_RESOURCE_BYTES:,} bytes)")
                raise FetchRefused(f"refused {url[:200]}: over {MAX_RESOURCE_BYTES:,} bytes")
            self.refuse_oversize(url, body)
            return URLFetcherResponse(response.url, body=body, headers=dict(response.headers))

        def refuse_oversize(self, url: str, data: bytes) -> None:
            # Pillow decodes the whole bitmap later; a few KB of PNG can declare gigabytes of pixels.
            reason = oversize_reason(data)
            if reason:
                shown = url if len(url) <= 200 else f"{url[:60]}…"  # data: URLs run to megabytes
                self.refused.append(f"{shown} (refused: {reason})")
                raise FetchRefused(f"refused {shown}: {reason}")

    return SandboxFetcher


@functools.cache
def _own_styles() -> Path:
    """The package's own stylesheets and fonts, resolved once (checked on every file a page reads)."""
    return builtin_dir("styles").resolve()


#: The base URL a page is laid out under, whatever folder its guide is in: WeasyPrint names images
#: in the PDF after their URL, so a real path would make the bytes depend on where the folder lies.
GUIDE_BASE_URL = "file:///guidepdf-guide/"


def make_fetcher(
    roots: Iterable[Path], *, allow_network: bool = False, guide_dir: Path | None = None, images: bool = True
) -> Any:
    """A `weasyprint.urls.URLFetcher` reading only files under `roots` and, if allowed, http(s).

    With `guide_dir`, URLs under `GUIDE_BASE_URL` are read from that folder. With `images` false
    (for files embedded as they are, never decoded), what it reads is not sniffed for image bombs.
    """
    return _fetcher_class()(roots, allow_network=allow_network, guide_dir=guide_dir, images=images)


def page_fetcher(page: Page, *, images: bool = True) -> Any:
    """The fetcher for one page: its guide's folder (also as `GUIDE_BASE_URL`) and the theme folders."""
    roots = (page.base_dir, *page.options.theme_roots)
    return make_fetcher(
        roots, allow_network=page.options.allow_network, guide_dir=page.base_dir, images=images
    )


@functools.lru_cache(maxsize=8)
def _theme(
    key: tuple[Any, ...], options: RenderOptions, shipped: bool = False
) -> tuple[Any, list[Any], bool]:
    """Parsed stylesheets, their fonts and whether they may make notes (`_may_make_notes`), kept for
    the life of a (warm) process.

    `shipped`: the built-in theme as shipped (no stylesheet, template or page styles of the user's),
    whose custom properties nothing can set again, so they are put in place once here
    (`fixed_properties`) rather than looked up for every element of every page.
    """
    weasyprint = _weasyprint()
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    fetcher = make_fetcher(options.theme_roots, allow_network=options.allow_network)
    sheets = []
    for path in options.stylesheets:
        try:
            if shipped:
                text = fixed_properties(path.read_text(encoding="utf-8"))
                sheet = weasyprint.CSS(
                    string=text, base_url=str(path), url_fetcher=fetcher, font_config=fonts
                )
            else:
                sheet = weasyprint.CSS(filename=str(path), url_fetcher=fetcher, font_config=fonts)
        except OSError as exc:
            raise RenderError(f"{path}: cannot read stylesheet: {exc.strerror or exc}") from None
        sheets.append(sheet)
    sheets.append(weasyprint.CSS(string=page_size_css(options.page_size), font_config=fonts))
    return fonts, sheets, any(_may_make_notes(sheet) for sheet in sheets)


#: A custom property's definition in a `:root` rule, and a plain use of one (no fallback).
_ROOT_RULE_RE = re.compile(r"^:root\s*\{([^}]*)\}", re.MULTILINE)
_DEFINITION_RE = re.compile(r"(--[A-Za-z0-9_-]+)\s*:\s*([^;{}]+?)\s*;")
_USE_RE = re.compile(r"var\(\s*(--[A-Za-z0-9_-]+)\s*\)")


def fixed_properties(css: str) -> str:
    """`css` with each `var(--name)` replaced by the value its `:root` rules give `--name`.

    Only for a stylesheet nothing follows: another sheet, or a page's own styles, could give a
    property another value. A use of a property it does not define, or with a fallback, is left as
    it is, as are the definitions.
    """
    values: dict[str, str] = {}
    for rule in _ROOT_RULE_RE.finditer(css):
        values.update(_DEFINITION_RE.findall(rule.group(1)))
    if any("var(" in value for value in values.values()):
        return css  # a property defined through another: left to the cascade
    return _USE_RE.sub(lambda use: values.get(use.group(1), use.group(0)), css)


#: What a style rule can set `float` to without making a footnote (or `position` to, besides
#: `running()`, without making a note); `inherit` and the like only pass on such a value.
_PLAIN_FLOATS = frozenset({"left", "right", "inline-start", "inline-end", "none"})
_WIDE = frozenset({"inherit", "initial", "unset", "revert", "revert-layer"})


def _may_make_notes(sheet: Any) -> bool:
    """Whether a parsed stylesheet may make an element a footnote or a note (`float: footnote`,
    `position: note()`, or either through a `var()` only known when the element's style is computed)."""
    matcher = sheet.matcher
    groups = [
        *matcher.id_selectors.values(),
        *matcher.class_selectors.values(),
        *matcher.lower_local_name_selectors.values(),
        *matcher.namespace_selectors.values(),
        matcher.lang_attr_selectors,
        matcher.other_selectors,
    ]
    for group in groups:
        for *_, (declarations, _layer) in group:
            for name, value, _important in declarations:
                if name == "float" and not (isinstance(value, str) and value in _PLAIN_FLOATS | _WIDE):
                    return True
                if name == "position" and not (
                    isinstance(value, str) or (isinstance(value, tuple) and value[:1] == ("running()",))
                ):
                    return True
    return False


#: Elements the built-in theme lays out as blocks (or table parts, or never shows): white space
#: between two of their tags is collapsed away whatever it holds, so it need not be parsed, styled
#: and boxed first.
_BLOCKS = (
    "html|head|body|article|section|header|footer|aside|nav|main|div|p|h[1-6]|ul|ol|li|dl|dt|dd|hr"
    "|table|caption|colgroup|col|thead|tbody|tfoot|tr|th|td|blockquote|figure|figcaption|meta|title|link"
)
_BETWEEN_BLOCKS_RE = re.compile(rf"(</?(?:{_BLOCKS})\b[^>]*>)\s+(?=</?(?:{_BLOCKS})\b)", re.IGNORECASE)
#: Where white space may be shown as it is written, or is not HTML's to judge.
_AS_WRITTEN_RE = re.compile(r"(<(pre|svg|textarea|script|style)\b.*?</\2\s*>)", re.IGNORECASE | re.DOTALL)


def tight_blocks(html: str) -> str:
    """`html` without the white space between block-level tags, outside `pre` (and SVG and the like).

    Only for the built-in theme as shipped: a theme's own stylesheet could make white space between
    blocks show (`white-space: pre-line` on a container), and its templates are its own.
    """
    parts = _AS_WRITTEN_RE.split(html)
    # split() gives text, then each match's two groups (the whole element and its name), in turn
    for i in range(0, len(parts), 3):
        parts[i] = _BETWEEN_BLOCKS_RE.sub(r"\1", parts[i])
    return "".join(part for i, part in enumerate(parts) if i % 3 != 2)


#: Markup that brings its own styles: a style element, a linked stylesheet or a style attribute.
_OWN_STYLES_RE = re.compile(r"<(?:style|link)\b|\bstyle\s*=", re.IGNORECASE)


@functools.cache
def _html_class(notes: bool) -> type:
    """`weasyprint.HTML`, or (`notes` false) one whose user-agent stylesheet has no rules for the
    pseudo-elements of footnotes and notes.

    Those rules select every element, so each element of a page would get five more computed styles
    (a third of the time spent on styles) that only footnotes and notes use. They are left out only
    when neither the theme nor the page can make one (`_may_make_notes`, `_OWN_STYLES_RE`).
    """
    weasyprint = _weasyprint()
    if notes:
        return weasyprint.HTML
    from weasyprint.css.counters import CounterStyle
    from weasyprint.html import UA, UA_STYLESHEET

    text = re.sub(r"^::(?:footnote|note)-[a-z]+ \{[^}]*\}\n", "", UA, flags=re.MULTILINE)
    without_notes = weasyprint.CSS(string=text, counter_style=CounterStyle())

    class PlainHTML(weasyprint.HTML):  # type: ignore[name-defined]
        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            sheets = super()._ua_stylesheets(forms)
            return [without_notes if sheet is UA_STYLESHEET else sheet for sheet in sheets]

    return PlainHTML


# Fonts must be released while WeasyPrint's libraries are still loaded, not during interpreter teardown.
atexit.register(_theme.cache_clear)


def _theme_key(options: RenderOptions) -> tuple[Any, ...]:
    stamps = []
    for path in options.stylesheets:
        try:
            stat = path.stat()
            stamps.append((str(path.resolve()), stat.st_mtime_ns, stat.st_size))
        except OSError:
            stamps.append((str(path), 0, 0))
    return tuple(stamps)


def _weasyprint() -> Any:
    weasyprint = import_weasyprint()
    _steady_fonttools_fallback()
    _steady_html_scanner()
    shape_whole_runs()
    return weasyprint


@functools.cache
def _steady_fonttools_fallback() -> None:
    """Where WeasyPrint finds no libharfbuzz-subset it subsets with fontTools: with `fonttools_subset`."""
    from weasyprint.pdf import fonts

    fonts.Font._fonttools_subset = fonttools_subset


@functools.cache
def _steady_html_scanner() -> None:
    """The HTML parser's patterns for runs of characters, each made once per process.

    tinyhtml5 (2.1) means to keep each pattern under the characters it stops at, but files it under
    the pattern itself, so it never finds one again and spells out a new pattern for each run of
    text, attribute name and value: two fifths of parsing a brief's page. A table that makes its
    missing entries the same way makes the first lookup find them.
    """
    from tinyhtml5 import inputstream

    if isinstance(inputstream.characters_until_regex, _RunPatterns):
        return
    inputstream.characters_until_regex = _RunPatterns()


class _RunPatterns(dict[tuple[Any, bool], "re.Pattern[str]"]):
    """Patterns matching a run of characters up to any of `characters` (`opposite`: of them only),
    made as tinyhtml5's `HTMLUnicodeInputStream.chars_until` makes them."""

    def __missing__(self, key: tuple[Any, bool]) -> re.Pattern[str]:
        characters, opposite = key
        escaped = "".join(f"\\x{ord(character):02x}" for character in characters)
        pattern = self[key] = re.compile(f"[{escaped}]+" if opposite else f"[^{escaped}]+")
        return pattern


def warm_up(options: RenderOptions | None = None) -> None:
    """Import WeasyPrint and parse the theme of `options` now, so a warm process's first brief is fast."""
    _weasyprint()
    if options is not None:
        shipped = not (options.templates or options.styles)
        _theme(_theme_key(options), replace(options, as_of=None), shipped)


def pdf_options(options: RenderOptions) -> dict[str, Any]:
    """WeasyPrint `write_pdf` options for a render: the variant, and tags unless turned off.

    PDF/UA-1 is tagged whatever `tagged` says: an untagged PDF/UA file would be a contradiction.
    """
    variant = options.pdf_variant.lower() if options.pdf_variant else None
    return {"pdf_variant": variant, "pdf_tags": options.tagged or variant == "pdf/ua-1"}


def make_attachments(specs: Iterable[AttachmentSpec], fetcher: Any) -> list[Any]:
    """WeasyPrint `Attachment`s for `specs`; URLs are read through `fetcher` (the sandbox)."""
    weasyprint = _weasyprint()
    attachments = []
    for spec in specs:
        source: dict[str, Any] = {"url": spec.url} if spec.url else {"file_obj": io.BytesIO(spec.data or b"")}
        attachments.append(
            weasyprint.Attachment(
                **source,
                url_fetcher=fetcher,
                name=spec.name,
                description=spec.description,
                created=spec.created,  # WeasyPrint would stamp now(): fixed dates keep bytes stable
                modified=spec.created,
                relationship=spec.relationship,
            )
        )
    return attachments


def _mark_relationships(specs: Iterable[AttachmentSpec]) -> Any:
    """A `write_pdf` finisher giving each embedded file its AFRelationship and listing it in /AF.

    WeasyPrint writes these only for PDF/A-3; a plain brief deserves the same machine-readable link.
    """
    relationships = {spec.name: spec.relationship for spec in specs}

    def finish(document: Any, pdf: Any) -> None:
        import pydyf

        _sort_embedded_files(pdf)
        if "AF" in pdf.catalog:  # PDF/A-3 wrote it (listing each file twice): keep one of each
            pdf.catalog["AF"] = pydyf.Array(dict.fromkeys(pdf.catalog["AF"]))
            return
        files = pydyf.Array()
        for obj in pdf.objects:
            if isinstance(obj, dict) and obj.get("Type") == "/Filespec":
                relationship = relationships.get(str(getattr(obj.get("UF"), "string", "")))
                if relationship:
                    obj["AFRelationship"] = f"/{relationship}"
                    files.append(obj.reference)  # type: ignore[attr-defined]  # a pydyf.Dictionary
        if files:
            pdf.catalog["AF"] = files

    return finish


def _left_for_qpdf(finisher: Any) -> Any:
    """A `write_pdf` finisher running `finisher` (if any), then leaving the streams uncompressed.

    WeasyPrint compresses every stream at Flate's slowest level, 9 (a tenth of writing a brief);
    the file is written again by qpdf when it is finished (`conform.finish_pdf`), which compresses
    each stream left uncompressed at the usual level, 6, in a few bytes more a brief.
    """

    def finish(document: Any, pdf: Any) -> None:
        import pydyf

        if finisher is not None:
            finisher(document, pdf)
        for obj in pdf.objects:
            if isinstance(obj, pydyf.Stream):
                obj.compress = False

    return finish


def _sort_embedded_files(pdf: Any) -> None:
    """Sort the EmbeddedFiles name tree by name, as PDF requires: readers look names up by bisection."""
    names = pdf.catalog.get("Names", {}).get("EmbeddedFiles")
    if names is None:
        return
    reference = names.decode("ascii") if isinstance(names, bytes) else str(names)  # b"12 0 R"
    tree = pdf.objects[int(reference.split()[0])]
    flat = list(tree["Names"])
    pairs = sorted(zip(flat[::2], flat[1::2], strict=True), key=lambda pair: pair[0].string)
    tree["Names"] = type(tree["Names"])(item for pair in pairs for item in pair)


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while a page is laid out and written.

    A brief makes a few hundred thousand objects; left on, the collector walks the live ones (the
    layout, WeasyPrint's caches, the process's modules) some forty times a brief, now and then all
    of them, for about a fifth of a warm render. Held off, what the brief leaves in cycles (about
    twenty thousand objects) is collected in one pass when it is done. A program that turned the
    collector off itself keeps it off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


def page_to_pdf(page: Page, *, attachments: Iterable[AttachmentSpec] = (), **write_options: Any) -> Rendered:
    """Lay out and write one page of HTML; deterministic for the same HTML, theme and options.

    `attachments` are embedded as files, read through the page's sandbox fetcher.
    """
    with _collection_paused():
        return _page_to_pdf(page, tuple(attachments), write_options)


def _page_to_pdf(page: Page, specs: tuple[AttachmentSpec, ...], write_options: dict[str, Any]) -> Rendered:
    options = page.options
    own_styles = bool(_OWN_STYLES_RE.search(page.html))
    # Styles of the page's own (or a theme's) could make white space between blocks show, or set
    # the theme's custom properties.
    as_shipped = not (options.templates or options.styles or own_styles)
    fonts, sheets, notes = _theme(_theme_key(options), replace(options, as_of=None), as_shipped)
    fetcher = page_fetcher(page)
    files = page_fetcher(page, images=False)  # attachments: embedded byte for byte, never decoded
    try:
        html_class = _html_class(notes or own_styles)
        text = tight_blocks(page.html) if as_shipped else page.html
        html = html_class(string=text, base_url=GUIDE_BASE_URL, url_fetcher=fetcher)
        document = html.render(font_config=fonts, stylesheets=sheets)
        if options.max_pages and len(document.pages) > options.max_pages:
            raise RenderError(
                f"lays out to {len(document.pages)} pages, over the limit of {options.max_pages}"
                " (--max-pages)"
            )
        identifier = hashlib.sha256(page.html.encode("utf-8")).hexdigest()[:32].encode("ascii")
        extra = dict(write_options)
        if specs:
            extra["attachments"] = [*make_attachments(specs, files), *extra.get("attachments", ())]
            if "finisher" not in extra:
                extra["finisher"] = _mark_relationships(specs)
        extra["finisher"] = _left_for_qpdf(extra.get("finisher"))
        written = pdf_options(options)
        # The identifier goes in as the file ID's first half when the file is finished: given to
        # WeasyPrint, it would have every object written (and every stream compressed) a second
        # time to hash a second half, which the finishing save replaces anyway.
        identifier = extra.pop("pdf_identifier", identifier)
        pdf = document.write_pdf(**{**written, **extra})
        # what WeasyPrint leaves that validators reject
        pdf = finish_pdf(pdf, written["pdf_variant"], identifier=identifier)
    except RenderError:
        raise
    except Exception as exc:  # WeasyPrint raises many kinds; one line is what a user needs
        raise RenderError(f"PDF rendering failed: {type(exc).__name__}: {exc}") from exc
    return Rendered(pdf=pdf, pages=len(document.pages), refused=(*fetcher.refused, *files.refused))
