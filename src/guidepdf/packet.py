"""Many guides → one tagged PDF packet: each guide's brief, joined behind a cover and contents.

A packet is assembled, not laid out again: its parts are the very briefs `guidepdf render` writes
(same options, same render key), reused from a batch's output or the packet cache when unchanged and
otherwise rendered in parallel on the workers; then qpdf (through pikepdf) joins them. The front
matter and an overlay of packet page numbers are two more renders; links, bookmarks, page labels and
the parts' structure trees are rewritten for the joined file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from ._version import __version__
from .batch import ItemResult, Status, read_manifest
from .conform import save
from .errors import GuidepdfError, RenderError, UsageError
from .fontshare import share_fonts
from .guide import MAX_BYTES, Guide, load_guide
from .inputs import plan_names
from .options import RenderOptions
from .output import atomic_write, open_own_file, read_own_file
from .rates import MONEY_FIELDS, Rates, comparison_note, sort_by_money
from .reading import read_limited
from .slug import slugify
from .statekey import sign, signed
from .tasks import (
    PageTask,
    RenderTask,
    TaskResult,
    collect_theme,
    guide_resources,
    render_key,
    run_page,
    run_render,
)
from .templating import render_template
from .themes import builtin_dir
from .workers import DEFAULT_TIMEOUT, Workers

DEFAULT_TITLE = "Salary negotiation packet"
#: Links in the front matter point here; joining turns them into links to each guide's first page.
PART_SCHEME = "guidepdf-part:"
CACHE_DIR = ".guidepdf-cache"
#: Cached parts unused for this long are deleted.
CACHE_DAYS = 30
#: Fields --sort and --group-by understand besides any front-matter key.
DERIVED_FIELDS = ("total_comp", "base", "currency", "region", "review", "source")


@dataclass(frozen=True)
class PacketResult:
    """A packet's PDF (None when no guide could be used), what went into it, and what failed."""

    title: str
    pdf: bytes | None
    sources: tuple[str, ...]
    starts: tuple[int, ...]
    pages: int
    failed: tuple[ItemResult, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    #: Guides whose brief was reused (a batch's output or the packet cache) instead of rendered.
    reused: tuple[str, ...] = ()
    #: For a sort by pay: the comparison currency, the rates' sources and what could not be compared.
    comparison: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Entry:
    """One guide's place in a packet, as the front matter template sees it."""

    index: int
    guide: Guide
    start: int
    pages: int


# -- fields for sorting and grouping -----------------------------------------------------------------

_GUIDE_FIELDS = {f.name for f in fields(Guide)} - {"source", "body", "meta", "extra", "body_line"}


def field_value(guide: Guide, name: str) -> Any:
    """A guide's value for `name`: a Guide field, a derived one (`total_comp`…), else front matter."""
    headline = guide.headline
    if name == "total_comp":
        return None if headline is None else (headline.total_comp_high or headline.total_comp_low)
    if name == "base":
        return None if headline is None else (headline.base_high or headline.base_low)
    if name in ("currency", "region"):
        return None if headline is None else getattr(headline, name)
    if name == "source":
        return str(guide.path)
    if name == "review":
        return guide.next_review_due
    if name in _GUIDE_FIELDS:
        value = getattr(guide, name)
        return str(value) if isinstance(value, Path) else value
    return guide.meta.get(name)


def check_field(guides: Sequence[Guide], name: str, option: str) -> None:
    """Refuse a field no guide could have, naming the option and the fields known."""
    if name in _GUIDE_FIELDS or name in DERIVED_FIELDS or any(name in g.meta for g in guides):
        return
    known = ", ".join(sorted({*_GUIDE_FIELDS, *DERIVED_FIELDS} - {"path", "compensation"}))
    raise UsageError(f"{option} {name}: no guide has this field; try one of: {known}")


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value == "" or value == []:
        return (3, "")
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, int | float):
        return (0, float(value))
    if isinstance(value, datetime | date):
        return (1, value.isoformat())
    if isinstance(value, list | tuple):
        return _sort_key(value[0]) if value else (3, "")
    return (2, str(value).casefold())


def sort_guides(guides: Sequence[Guide], spec: str, rates: Rates | None = None) -> list[Guide]:
    """Guides ordered by a field (`-field` for descending); missing values last, ties by title.

    Money fields (`total_comp`, `base`) compare in one currency (see `rates`), never across currencies.
    """
    descending = spec.startswith("-")
    name = spec.lstrip("-+")
    check_field(guides, name, "--sort")
    if name in MONEY_FIELDS:
        return sort_by_money(list(guides), name, descending, rates)
    present = [g for g in guides if _sort_key(field_value(g, name))[0] != 3]
    missing = [g for g in guides if _sort_key(field_value(g, name))[0] == 3]
    present.sort(key=lambda g: (_sort_key(field_value(g, name)), g.title.casefold()), reverse=descending)
    return present + sorted(missing, key=lambda g: g.title.casefold())


def group_guides(guides: Sequence[Guide], name: str) -> dict[str, list[Guide]]:
    """Guides by their value of `name` (a list puts a guide in each of its values' groups), in order."""
    check_field(guides, name, "--group-by")
    groups: dict[str, list[Guide]] = {}
    for guide in guides:
        value = field_value(guide, name)
        values = value if isinstance(value, list | tuple) else [value]
        labels = [_label(v) for v in values if v not in (None, "")] or [""]
        for label in dict.fromkeys(labels):
            groups.setdefault(label, []).append(guide)
    return groups


def _label(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# -- rendering the parts -----------------------------------------------------------------------------


def packet_options(options: RenderOptions | None) -> RenderOptions:
    """Options for a packet's parts: exactly a batch's, so a part is the brief `render` writes."""
    return (options or RenderOptions()).pinned()


def _guide_bytes(guide: Guide) -> bytes:
    with contextlib.suppress(OSError):
        if guide.path.is_file():
            return read_limited(guide.path, MAX_BYTES)
    return guide.source.encode("utf-8")


#: Names the packet cache writes: `<render key>.pdf` and its record `<render key>.json`.
_CACHE_NAME_RE = re.compile(r"^[0-9a-f]{64}\.(pdf|json)$")
#: No brief in the cache is larger than this (the bounded read of a part).
MAX_PART_BYTES = 2_000_000_000


class _PartCache:
    """Rendered briefs by render key: a batch's outputs (per its manifest), then the packet cache folder.

    A batch's row is trusted only while its file still has the sha256 the manifest recorded; a cached
    part only while it matches the sha256 in the record written beside it. Both are read only as
    regular files, never through a link. A cache folder that is a link (or not a folder) is not used
    at all, so nothing is written or pruned outside the output folder through it.
    """

    def __init__(self, folder: Path | None, batch_dir: Path | None = None) -> None:
        self.folder = folder if folder is not None and _usable_folder(folder) else None
        self.batch: dict[str, tuple[Path, str, int | None]] = {}
        if batch_dir is not None:
            for name, row in read_manifest(batch_dir).items():
                key, sha = row.get("key"), row.get("sha256")
                if row.get("status") in ("rendered", "skipped") and key and sha and name.endswith(".pdf"):
                    pages = row.get("pages")
                    self.batch[str(key)] = (
                        batch_dir / name,
                        str(sha),
                        pages if isinstance(pages, int) else None,
                    )

    def open(self, key: str) -> tuple[BinaryIO, int | None] | None:
        """A brief's file, open and checked against its recorded sha256 (through the same handle, so it
        cannot be swapped after the check), and its page count when known; None on a miss."""
        found = self.batch.get(key)
        if found is not None:
            opened = _open_checked(found[0], found[1])
            if opened is not None:
                return opened, found[2]
        if self.folder is None or not _CACHE_NAME_RE.match(f"{key}.pdf"):
            return None
        path = self.folder / f"{key}.pdf"
        try:
            record = json.loads(read_own_file(self.folder / f"{key}.json", 4096))
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(record, dict) or not isinstance(record.get("sha256"), str):
            return None
        if not signed(_record_fields(key, record), record.get("mac")):
            return None  # not a record this user's runs wrote: a miss, rendered again
        handle = _open_checked(path, record["sha256"])
        if handle is None:
            return None  # damaged or replaced since it was cached: a miss, rendered again
        pages = record.get("pages")
        with contextlib.suppress(OSError):
            for used in (path, self.folder / f"{key}.json"):
                os.utime(used, follow_symlinks=False)  # recently used: kept by prune()
        return handle, pages if isinstance(pages, int) else None

    def get(self, key: str) -> tuple[bytes, int | None] | None:
        """A brief's bytes and its page count, or None on a miss."""
        opened = self.open(key)
        if opened is None:
            return None
        handle, pages = opened
        with handle:
            data = handle.read()
        try:
            return data, pages if pages is not None else _count_pages(data)
        except RenderError:
            return None

    def put(self, key: str, data: bytes, pages: int | None = None) -> bool:
        """Keep `data` under `key`; False when the cache folder cannot be used or written."""
        if self.folder is None or not _CACHE_NAME_RE.match(f"{key}.pdf"):
            return False
        with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
            self.folder.mkdir(parents=True, exist_ok=True)
            if not _usable_folder(self.folder):
                return False
            atomic_write(self.folder / f"{key}.pdf", data)
            record: dict[str, Any] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "pages": pages,
            }
            record["mac"] = sign(_record_fields(key, record))
            atomic_write(self.folder / f"{key}.json", json.dumps(record) + "\n")
            return True
        return False

    def has(self, key: str) -> bool:
        """True when `open(key)` would find a sound brief (it reads and checks the file)."""
        opened = self.open(key)
        if opened is not None:
            opened[0].close()
        return opened is not None

    def prune(self) -> None:
        if self.folder is None or not _usable_folder(self.folder) or not self.folder.is_dir():
            return
        cutoff = time.time() - CACHE_DAYS * 86400
        for path in self.folder.iterdir():
            if not _CACHE_NAME_RE.match(path.name):
                continue  # only what the cache itself wrote is ever removed
            with contextlib.suppress(OSError):
                info = path.lstat()
                if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                    path.unlink()


def _record_fields(key: str, record: dict[str, Any]) -> dict[str, Any]:
    """What a cache record's signature covers: the render key it stands for and the file it vouches for."""
    return {
        "key": key,
        "sha256": record.get("sha256"),
        "bytes": record.get("bytes"),
        "pages": record.get("pages"),
    }


def _open_checked(path: Path, sha256: str) -> BinaryIO | None:
    """`path` opened (a regular file, not through a link) if its bytes hash to `sha256`, else None."""
    try:
        handle = open_own_file(path)
    except OSError:
        return None
    digest = hashlib.sha256()
    size = 0
    for block in iter(lambda: handle.read(1 << 20), b""):
        size += len(block)
        if size > MAX_PART_BYTES:
            break
        digest.update(block)
    if size > MAX_PART_BYTES or digest.hexdigest() != sha256:
        handle.close()
        return None
    handle.seek(0)
    return handle


def _usable_folder(folder: Path) -> bool:
    """True when `folder` is missing (it will be made) or a real folder, not a link or a file."""
    try:
        return stat.S_ISDIR(folder.lstat().st_mode)
    except FileNotFoundError:
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class _Part:
    """A guide's brief for a packet: its render key where the cache (or a batch) holds it on disk,
    else its bytes; its page count; or the error that kept it from being rendered."""

    source: str
    key: str | None = None
    data: bytes | None = None
    pages: int = 0
    refused: tuple[str, ...] = ()
    error: str | None = None


def render_parts(
    guides: Sequence[Guide],
    options: RenderOptions,
    workers: Workers,
    cache: _PartCache,
    *,
    timeout: float | None,
    progress: Callable[[ItemResult], None] | None = None,
) -> tuple[list[_Part], set[int]]:
    """Each guide's brief in order, and the indexes of those reused (from a batch or the cache).

    A brief that is (or now goes) on disk is not kept in memory: the join reads it from there.
    """
    theme = collect_theme(options)
    parts: list[_Part | None] = [None] * len(guides)
    reused: set[int] = set()
    todo: list[tuple[int, RenderTask, str]] = []
    for i, guide in enumerate(guides):
        task, key = part_task(guide, options, theme, remote=workers.remote, timeout=timeout)
        opened = cache.open(key)
        if opened is not None:
            handle, pages = opened
            with handle, contextlib.suppress(RenderError):
                parts[i] = _Part(task.source, key=key, pages=pages or _count_pages_in(handle))
        if parts[i] is not None:
            reused.add(i)
            if progress:
                progress(ItemResult(task.source, None, Status.SKIPPED))
        else:
            todo.append((i, task, key))

    def finished(n: int, result: TaskResult) -> None:
        index, _, key = todo[n]
        if result.error is not None or result.data is None:
            parts[index] = _Part(result.source, error=result.error or f"{result.source}: not rendered")
        else:
            pages = result.pages or _count_pages(result.data)
            kept = cache.put(key, result.data, pages)
            data = None if kept else result.data
            parts[index] = _Part(result.source, key if kept else None, data, pages, result.refused)
        if progress:
            status = Status.FAILED if result.error else Status.RENDERED
            progress(ItemResult(result.source, None, status, error=result.error))

    workers.run(run_render, [task for _, task, _ in todo], theme, finished)
    return [
        p if p is not None else _Part(g.path.name, error=f"{g.path.name}: not rendered")
        for p, g in zip(parts, guides, strict=True)
    ], reused


def part_task(
    guide: Guide, options: RenderOptions, theme: Any, *, remote: bool, timeout: float | None
) -> tuple[RenderTask, str]:
    """The render task of `guide`'s brief and its render key (the batch's, so briefs are shared)."""
    text = _guide_bytes(guide)
    resources = guide_resources(guide.path, text)
    task = RenderTask(str(guide.path), text, options, "pdf", resources if remote else None, timeout)
    return task, render_key(task, theme, resources)


class PartStore:
    """Briefs rendered once for many uses (a mail merge), kept on disk by render key, read back one
    at a time: memory holds a key per guide, never the briefs, however many there are."""

    def __init__(self, cache: _PartCache, cache_dir: Path | None, batch_dir: Path | None) -> None:
        self._cache = cache
        self.cache_dir, self.batch_dir = cache_dir, batch_dir
        self._keys: dict[Path, str] = {}
        self._memory: dict[str, bytes] = {}  # only where no cache folder can be written
        self.errors: dict[Path, str] = {}

    def get(self, guide: Guide) -> bytes | None:
        """The brief of `guide` if it was prepared, else None (render it yourself); raises the
        guide's render error if its brief failed."""
        path = guide.path.resolve()
        if path in self.errors:
            raise RenderError(self.errors[path])
        key = self._keys.get(path)
        if key is None:
            return None
        if key in self._memory:
            return self._memory[key]
        found = self._cache.get(key)
        return found[0] if found is not None else None


def store_parts(
    guides: Sequence[Guide],
    options: RenderOptions | None = None,
    *,
    cache_dir: Path | None,
    batch_dir: Path | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    progress: Callable[[ItemResult], None] | None = None,
    limit_option: str = "--timeout",
) -> PartStore:
    """Render each brief of `guides` that no batch output or cached part already has, on the warm
    workers, into `cache_dir`; none of the bytes stay in memory (unless no cache folder is usable).

    The briefs are exactly the ones `render` writes and a packet joins (same options, same render
    key), so a mail merge after a batch renders nothing, and its briefs serve the next packet.
    """
    part_opts = packet_options(options)
    store = PartStore(_PartCache(cache_dir, batch_dir), cache_dir, batch_dir)
    theme = collect_theme(part_opts)
    unique: dict[Path, Guide] = {}
    for guide in guides:
        unique.setdefault(guide.path.resolve(), guide)
    remote = scheduler is not None
    todo: list[tuple[Path, RenderTask, str]] = []
    for path, guide in unique.items():
        task, key = part_task(guide, part_opts, theme, remote=remote, timeout=timeout)
        task = replace(task, limit_option=limit_option)
        store._keys[path] = key
        if store._cache.has(key):
            if progress:
                progress(ItemResult(task.source, None, Status.SKIPPED))
        else:
            todo.append((path, task, key))

    def finished(n: int, result: TaskResult) -> None:
        path, _, key = todo[n]
        if result.data is None:
            store.errors[path] = result.error or f"{path}: not rendered"
            del store._keys[path]
        elif not store._cache.put(key, result.data):
            store._memory[key] = result.data
        if progress:
            status = Status.FAILED if result.error else Status.RENDERED
            progress(ItemResult(result.source, None, status, error=result.error))

    if todo:
        inline = scheduler is None and len(todo) == 1
        pool = Workers(
            jobs,
            scheduler=scheduler,
            options=part_opts,
            timeout=timeout,
            inline=inline,
            limit_option=limit_option,
        )
        with pool as workers:
            workers.run(run_render, [task for _, task, _ in todo], theme, finished)
    store._cache.prune()
    return store


# -- front matter and page numbers -------------------------------------------------------------------


def front_options(options: RenderOptions) -> RenderOptions:
    """The parts' options with the packet stylesheet (after the brief's, before the user's)."""
    styles = (builtin_dir("styles") / "packet.css", *options.styles)
    return replace(options, styles=styles, max_pages=0, attach_sources=False)


def folio_options(options: RenderOptions) -> RenderOptions:
    """The page-number overlay is untagged and claims nothing: joining marks all of it as an artifact
    (tags inside an artifact would break PDF/UA), and the packet makes the front matter's claim."""
    return replace(front_options(options), tagged=False, pdf_variant=None)


def front_matter_html(
    title: str, entries: Sequence[_Entry], options: RenderOptions, comparison: dict[str, Any] | None = None
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
        "about": _about([e.guide for e in entries]),
        "comparison": comparison,
        "options": options,
        "page_size": options.page_size,
    }
    return render_template("packet.html.j2", context, options)


def folios_html(title: str, pages: int, options: RenderOptions) -> str:
    """`pages` blank pages carrying only "Page N of M", stamped over the briefs' pages."""
    return render_template("packet-folios.html.j2", {"title": title, "pages": pages}, options)


# -- joining -----------------------------------------------------------------------------------------


def join_packet(
    title: str,
    front: bytes,
    folios: bytes,
    parts: Sequence[tuple[Guide, _Part]],
    cache: _PartCache | None = None,
) -> bytes:
    """Front matter and parts as one tagged PDF: stamped page numbers (each in place of the brief's own
    counter, so a guide page shows one), live links, bookmarks (the cover, the contents, then each
    guide's), page labels and one structure tree holding every part's, in page order.

    qpdf (through pikepdf) copies the parts' pages and structure elements, and reads the copied
    streams from their sources only when the packet is written. A part on disk (in `cache`, or a
    batch's output) therefore stays open, unread, until then: memory holds the joined file's objects,
    and of its page contents only each guide page's content stream (read to take the brief's own page
    counter out, kept compressed), not its fonts and images. A part held as bytes has its streams
    taken over as soon as it is joined, so that its bytes can go.
    """
    import pikepdf
    from pikepdf import Array, Dictionary, Name, Pdf, String

    lazy = _lazy_parts(parts, cache)
    # The front matter, the page numbers and the parts on disk stay open until the packet is written.
    with contextlib.ExitStack() as opened:
        out = opened.enter_context(Pdf.new())
        structure = _Structure(out)
        front_pdf = opened.enter_context(_open(front, f"{title}: front matter"))
        out.pages.extend(front_pdf.pages)
        structure.add(front_pdf, 0)
        front_pages = len(out.pages)
        firsts: list[int] = []
        outline: list[pikepdf.OutlineItem] = []
        for index, (guide, part) in enumerate(parts):
            handle = lazy.get(index)
            if handle is not None:
                opened.enter_context(handle)
                source_cm: Any = contextlib.nullcontext(opened.enter_context(_open_file(handle, guide)))
            else:
                source_cm = _open(part.data or _read_part(part, cache, guide), str(guide.path))
            with source_cm as source:
                first = len(out.pages)
                firsts.append(first)
                out.pages.extend(source.pages)
                # A part's page references, read from its own file, mapped to the joined file's pages.
                pages = {page.objgen: out.pages[first + i].obj for i, page in enumerate(source.pages)}
                _explicit_links(source, out, first, pages)
                top = pikepdf.OutlineItem(guide.title, first)
                top.is_closed = True
                top.children.extend(_copy_outline(_part_sections(source), pages, first))
                outline.append(top)
                structure.add(source, first)
                if handle is None:
                    _take_streams(out.pages[first:])
        guide_pages = len(out.pages) - front_pages
        folio_pdf = opened.enter_context(_open(folios, f"{title}: page numbers"))
        if len(folio_pdf.pages) != guide_pages:
            raise RenderError(f"page numbers: {len(folio_pdf.pages)} pages for {guide_pages} guide pages")
        for offset, folio in enumerate(folio_pdf.pages):
            page = out.pages[front_pages + offset]
            _drop_own_counter(out, page)  # the packet's page counter takes its place: one per page
            _stamp_artifact(out, page, folio)

        for page in out.pages[:front_pages]:
            for annot in page.obj.get("/Annots") or []:
                action = annot.get("/A")
                uri = str(action.get("/URI", "")) if action is not None else ""
                if uri.startswith(PART_SCHEME):
                    index = int(uri.removeprefix(PART_SCHEME))
                    target = firsts[index]
                    del annot["/A"]
                    annot.Dest = Array([out.pages[target].obj, Name.Fit])
                    # What a screen reader announces for the link: not the internal URI.
                    annot.Contents = String(f"{parts[index][0].title}, page {target - front_pages + 1}")

        labels: list[Any] = [0, Dictionary(S=Name.r)]
        if guide_pages:
            labels += [front_pages, Dictionary(S=Name.D, St=1)]
        out.Root.PageLabels = Dictionary(Nums=Array(labels))
        out.Root.PageMode = Name.UseOutlines
        info = Dictionary(Title=String(title), Creator=String(f"guidepdf {__version__}"))
        for key in _ABOUT:  # as the front matter's <meta> gave them to WeasyPrint
            if key in front_pdf.docinfo:
                info[key] = String(str(front_pdf.docinfo[key]))
        out.docinfo = out.make_indirect(info)
        if "/Metadata" in front_pdf.Root:
            # A PDF/UA or PDF/A packet: its claim, title and output intent are the front matter's,
            # whose XMP and document info WeasyPrint wrote to agree with each other.
            out.docinfo = out.copy_foreign(front_pdf.docinfo)  # type: ignore[assignment]
            out.Root.Metadata = out.copy_foreign(front_pdf.Root.Metadata)
            if "/OutputIntents" in front_pdf.Root:
                out.Root.OutputIntents = _copy(out, front_pdf.Root.OutputIntents)
        structure.finish()
        share_fonts(out)  # one program per face, not one per part: a packet is not forty copies of Inter
        # The front matter has bookmarks too, before the guides': the cover, then the contents.
        front_marks = [pikepdf.OutlineItem("Cover", 0)]
        if len(parts) > 1:  # a few guides' contents sit on the cover itself, more on the next page
            front_marks.append(pikepdf.OutlineItem("Contents", 1 if front_pages > 1 else 0))
        with out.open_outline() as packet_outline:
            packet_outline.root.extend([*front_marks, *outline])
        # Deterministic: the same inputs give the same bytes, the file ID included.
        return save(
            out, object_stream_mode=pikepdf.ObjectStreamMode.generate, min_version=front_pdf.pdf_version
        )


_ABOUT = ("/Subject", "/Keywords", "/Author")


def _about(guides: Sequence[Guide]) -> dict[str, str]:
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


def _take_streams(pages: Sequence[Any]) -> None:
    """Give every stream reachable from `pages` its own copy of its (still encoded) data, so that the
    file they were copied from can be closed before the packet is written."""
    from pikepdf import Array, Dictionary, Object, Stream

    seen: set[tuple[int, int]] = set()
    todo: list[Any] = [page.obj for page in pages]
    while todo:
        obj = todo.pop()
        if not isinstance(obj, Object):  # numbers and booleans come back as Python values
            continue
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        if isinstance(obj, Stream):
            filters: Any = obj.get("/Filter")
            parms: Any = obj.get("/DecodeParms")
            obj.write(obj.read_raw_bytes(), filter=filters, decode_parms=parms)
            todo.extend(value for key, value in obj.stream_dict.items() if key != "/Length")
        elif isinstance(obj, Dictionary):
            todo.extend(value for key, value in obj.items() if key not in ("/Parent", "/P"))
        elif isinstance(obj, Array):
            todo.extend(obj)


def _lazy_parts(parts: Sequence[tuple[Guide, _Part]], cache: _PartCache | None) -> dict[int, BinaryIO]:
    """The parts to read from disk while writing, open and checked: as many as file handles allow."""
    if cache is None:
        return {}
    on_disk = [i for i, (_, part) in enumerate(parts) if part.key is not None and part.data is None]
    room = _raise_file_limit(len(on_disk) + 64) - 64
    found: dict[int, BinaryIO] = {}
    for index in on_disk[: max(0, room)]:
        opened = cache.open(parts[index][1].key or "")
        if opened is not None:
            found[index] = opened[0]
    return found


def _raise_file_limit(wanted: int) -> int:
    """Raise this process's open-file limit towards `wanted` (up to the hard limit); the limit now."""
    try:
        import resource
    except ImportError:  # not on POSIX: the usual limits are generous
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return wanted if soft == resource.RLIM_INFINITY else soft


def _read_part(part: _Part, cache: _PartCache | None, guide: Guide) -> bytes:
    """A part's bytes from the cache, when it could not be kept open (or there is no handle to spare)."""
    found = cache.get(part.key) if cache is not None and part.key is not None else None
    if found is None:
        raise RenderError(f"{guide.path}: its brief left the cache before the packet was joined")
    return found[0]


def _open_file(handle: BinaryIO, guide: Guide) -> Any:
    import pikepdf

    try:
        return pikepdf.Pdf.open(handle, attempt_recovery=False)
    except pikepdf.PdfError as exc:
        raise RenderError(f"{guide.path}: not a readable PDF: {exc}") from None


def _open(data: bytes, what: str) -> Any:
    import pikepdf

    try:
        # No repairs: a damaged part is an error, not a packet with pages missing.
        return pikepdf.Pdf.open(io.BytesIO(data), attempt_recovery=False)
    except pikepdf.PdfError as exc:
        raise RenderError(f"{what}: not a readable PDF: {exc}") from None


def _stamp_artifact(out: Any, page: Any, folio: Any) -> None:
    """Draw `folio` over `page` as an artifact: stamped page numbers are not document text."""
    from pikepdf import Dictionary

    form = out.copy_foreign(folio.as_form_xobject())
    # The page's own resources, copied so that a dictionary shared with other pages is left alone,
    # and a fixed name (not pikepdf's random prefix) so that the same packet gives the same bytes.
    resources = page.obj.get("/Resources")
    resources = Dictionary(dict(resources.items())) if resources is not None else Dictionary()
    xobjects = resources.get("/XObject")
    xobjects = Dictionary(dict(xobjects.items())) if xobjects is not None else Dictionary()
    name, n = "/PacketFolio", 0
    while name in xobjects:
        n += 1
        name = f"/PacketFolio{n}"
    xobjects[name] = form
    resources.XObject = xobjects
    page.obj.Resources = resources
    # The page's own content may leave its coordinate system changed: isolate it, then stamp.
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(b"Q\n/Artifact <</Type /Pagination>> BDC q " + name.encode() + b" Do Q EMC\n")


#: Where a brief's own page counter is drawn: its bottom-right page-margin box, a pagination artifact
#: whose text starts in the right half of the page, below this share of the page's height.
_COUNTER_BOTTOM = 0.1


def _drop_own_counter(out: Any, page: Any) -> bool:
    """Take a brief's own "Page X of Y" (its bottom-right page-margin box, a pagination artifact) out
    of a packet page, whose stamped page number replaces it; False when the page has none."""
    import zlib

    import pikepdf

    ops: list[Any] = list(pikepdf.parse_content_stream(page))
    box = page.mediabox
    left, bottom = float(box[0]), float(box[1])
    width, height = float(box[2]) - left, float(box[3]) - bottom
    ctm: tuple[float, ...] = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    stack: list[tuple[float, ...]] = []
    start: int | None = None
    found: tuple[int, int] | None = None
    save, restore, concat, begin, end, matrix = (
        pikepdf.Operator(o) for o in ("q", "Q", "cm", "BDC", "EMC", "Tm")
    )
    for i, instruction in enumerate(ops):
        op = instruction.operator  # (attribute access: unpacking each instruction costs ten times more)
        if op == save:
            stack.append(ctm)
        elif op == restore:
            if stack:
                ctm = stack.pop()
        elif op == concat:
            if len(instruction.operands) == 6:
                ctm = _multiply(tuple(float(v) for v in instruction.operands), ctm)
        elif op == begin:
            if start is None and _is_pagination(instruction.operands):
                start = i
        elif op == end:
            start = None
        elif op == matrix and start is not None and len(instruction.operands) == 6:
            x, y = _apply(ctm, float(instruction.operands[4]), float(instruction.operands[5]))
            if x - left > width / 2 and y - bottom < height * _COUNTER_BOTTOM:
                stop = next(j for j in range(i, len(ops)) if ops[j].operator == end)
                if found is not None:
                    return False  # more than one such box: not the layout this knows, left alone
                found = (start, stop)
                start = None
    if found is None:
        return False
    kept = ops[: found[0]] + ops[found[1] + 1 :]
    data = pikepdf.unparse_content_stream(kept)
    stream = pikepdf.Stream(out, zlib.compress(data, 6))
    stream.Filter = pikepdf.Name.FlateDecode
    page.obj.Contents = stream
    return True


def _is_pagination(operands: Any) -> bool:
    from pikepdf import Dictionary, Name

    return (
        len(operands) == 2
        and operands[0] == Name.Artifact
        and isinstance(operands[1], Dictionary)
        and operands[1].get("/Type") == Name.Pagination
    )


def _multiply(m: tuple[float, ...], n: tuple[float, ...]) -> tuple[float, ...]:
    """The matrix product m × n (PDF order: m applied first)."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t, e * q + f * s + u)


def _apply(m: tuple[float, ...], x: float, y: float) -> tuple[float, float]:
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


def _copy(out: Any, obj: Any) -> Any:
    """`obj` from another file copied into `out`; objects already copied (pages) map to their copies."""
    from pikepdf import Array, Dictionary

    if obj is None:  # a null: content no element owns (an artifact) in a parent tree array
        return None
    if obj.is_indirect:
        return out.copy_foreign(obj)
    if isinstance(obj, Array):
        return Array([_copy(out, item) for item in obj])
    if isinstance(obj, Dictionary):
        return Dictionary({key: _copy(out, value) for key, value in obj.items()})
    return obj


def _tree_pairs(node: Any, leaf: str) -> list[tuple[Any, Any]]:
    """A number or name tree's (key, value) pairs; `leaf` is /Nums or /Names."""
    if node is None:
        return []
    items = node.get(leaf) or []
    pairs = [(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
    for kid in node.get("/Kids") or []:
        pairs += _tree_pairs(kid, leaf)
    return pairs


def _map_dest(dest: Any, pages: dict[Any, Any]) -> Any:
    """An explicit destination in a part, pointed at the joined file's page; None if it is not one."""
    from pikepdf import Array, Dictionary

    if isinstance(dest, Dictionary):
        dest = dest.get("/D")
    if not isinstance(dest, Array) or len(dest) == 0:
        return None
    page = pages.get(dest[0].objgen)
    return None if page is None else Array([page, *list(dest)[1:]])


def _explicit_links(source: Any, out: Any, first: int, pages: dict[Any, Any]) -> None:
    """Turn a part's links to named destinations into links to pages of the joined file (names from
    different parts would clash, so the packet keeps none)."""
    from pikepdf import Array, Name

    names = source.Root.get("/Names")
    tree = names.get("/Dests") if names is not None else None
    targets = {bytes(name): _map_dest(dest, pages) for name, dest in _tree_pairs(tree, "/Names")}
    for page in out.pages[first : first + len(source.pages)]:
        for annot in page.obj.get("/Annots") or []:
            dest, action = annot.get("/Dest"), annot.get("/A")
            if dest is None and action is not None and action.get("/S") == Name.GoTo:
                dest = action.get("/D")
            if dest is None or isinstance(dest, Array):
                continue
            target = targets.get(bytes(dest))
            if target is None:
                continue
            if "/A" in annot:
                del annot["/A"]
            annot.Dest = target


def _part_sections(source: Any) -> Any:
    """The outline node whose children are a part's sections: under its own title bookmark if it has
    one, since the packet's bookmark for the guide takes that place; None when there are none."""
    outlines = source.Root.get("/Outlines")
    first = outlines.get("/First") if outlines is not None else None
    if first is None:
        return None
    if "/Next" not in first:
        return first if "/First" in first else None
    return outlines


def _copy_outline(node: Any, pages: dict[Any, Any], first: int) -> list[Any]:
    import pikepdf

    items = []
    item = node.get("/First") if node is not None else None
    while item is not None:
        dest = item.get("/Dest")
        action = item.get("/A")
        if dest is None and action is not None and action.get("/S") == pikepdf.Name.GoTo:
            dest = action.get("/D")
        copied = pikepdf.OutlineItem(str(item.get("/Title", "")), _map_dest(dest, pages) or first)
        copied.children.extend(_copy_outline(item, pages, first))
        items.append(copied)
        item = item.get("/Next")
    return items


class _Structure:
    """One structure tree for a joined file: each source's top elements become Parts of one Document.

    Sources are added right after their pages were copied, so copying their elements maps /Pg and
    /Obj references onto the joined file's pages and annotations. Each source's /StructParents keys
    are shifted past the previous sources', so the merged /ParentTree stays unique and in order.
    """

    def __init__(self, out: Any) -> None:
        from pikepdf import Array, Dictionary, Name

        self.out = out
        self.root = out.make_indirect(Dictionary(Type=Name.StructTreeRoot))
        self.document = out.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, P=self.root))
        self.kids, self.namespaces = Array(), Array()
        self.nums: list[Any] = []
        self.role_map = Dictionary()
        self.offset = 0
        self.lang: Any = None

    def add(self, source: Any, first: int) -> None:
        """Graft `source`'s structure tree; its pages are the joined file's pages from index `first`."""
        from pikepdf import Array, Dictionary, Name

        out = self.out
        catalog = source.Root
        if self.lang is None and "/Lang" in catalog:
            self.lang = catalog.Lang
        tree = catalog.get("/StructTreeRoot")
        if tree is None:
            return
        for namespace in tree.get("/Namespaces") or []:
            self.namespaces.append(_copy(out, namespace))
        role_map = tree.get("/RoleMap")
        for name in role_map.keys() if role_map is not None else ():
            if name not in self.role_map:
                self.role_map[name] = _copy(out, role_map[name])
        tops = tree.get("/K")
        for top in tops if isinstance(tops, Array) else [tops] if tops is not None else []:
            if not isinstance(top, Dictionary):
                continue
            # Without its /P the copy stops at the element: the part's old root is not copied along.
            if "/P" in top:
                del top["/P"]
            element = out.copy_foreign(top) if top.is_indirect else _copy(out, top)
            element.P = self.document
            if element.get("/S") == Name.Document:
                element.S = Name.Part  # one Document per file: a guide is a Part
            self.kids.append(element)
        offset = self.offset
        entries = sorted(
            ((int(key), value) for key, value in _tree_pairs(tree.get("/ParentTree"), "/Nums")),
            key=lambda pair: pair[0],
        )
        for key, value in entries:
            self.nums += [key + offset, _copy(out, value)]
        for page in out.pages[first : first + len(source.pages)]:
            if "/StructParents" in page.obj:
                page.obj.StructParents = int(page.obj.StructParents) + offset
            for annot in page.obj.get("/Annots") or []:
                if "/StructParent" in annot:
                    annot.StructParent = int(annot.StructParent) + offset
        highest = max([key for key, _ in entries], default=-1)
        self.offset = offset + max(highest + 1, int(tree.get("/ParentTreeNextKey", 0)))

    def finish(self) -> None:
        """Hang the tree on the catalog, marked, with the first source's language."""
        from pikepdf import Array, Dictionary

        out, root = self.out, self.root
        if len(self.namespaces):
            self.document.NS = self.namespaces[0]
            root.Namespaces = self.namespaces
        self.document.K = self.kids
        root.K = Array([self.document])
        root.ParentTree = out.make_indirect(Dictionary(Nums=Array(self.nums)))
        root.ParentTreeNextKey = self.offset
        if len(self.role_map.keys()):
            root.RoleMap = self.role_map
        out.Root.StructTreeRoot = root
        out.Root.MarkInfo = Dictionary(Marked=True)
        out.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
        if self.lang is not None:
            out.Root.Lang = _copy(out, self.lang)


# -- the packet --------------------------------------------------------------------------------------


def _load(inputs: Sequence[Path | str | Guide]) -> tuple[list[Guide], list[ItemResult]]:
    guides: list[Guide] = []
    failed: list[ItemResult] = []
    for item in inputs:
        if isinstance(item, Guide):
            guides.append(item)
            continue
        try:
            guides.append(load_guide(item))
        except GuidepdfError as exc:
            failed.append(ItemResult(str(item), None, Status.FAILED, error=str(exc)))
    return guides, failed


def make_packets(
    groups: Sequence[tuple[str, Sequence[Guide]]],
    options: RenderOptions | None = None,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    cache_dir: Path | None = None,
    batch_dir: Path | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    progress: Callable[[ItemResult], None] | None = None,
    compare: tuple[str, Rates | None] | None = None,
    on_packet: Callable[[int, PacketResult], None] | None = None,
) -> list[PacketResult]:
    """One packet per (title, guides) group; all parts and front matter rendered on one set of workers.

    `compare` (a money field and the rates) makes each overview say how pay was compared. With
    `on_packet`, each packet is handed over (group index, result) as soon as it is joined and its
    bytes are then let go: the results returned carry no PDF, and memory holds one packet at a time.

    A brief already in `batch_dir` (a `guidepdf render` output folder) or `cache_dir` with the same
    render key is reused; briefs rendered here are kept in `cache_dir` for next time.
    """
    started = time.monotonic()
    part_opts = packet_options(options)
    cache = _PartCache(cache_dir, batch_dir)
    unique: dict[Path, Guide] = {}
    for _, guides in groups:
        for guide in guides:
            unique.setdefault(guide.path.resolve(), guide)
    order = list(unique)
    # A pool costs a second to start: a packet of one or two guides is quicker in this process.
    inline = scheduler is None and len(unique) <= 2
    with Workers(jobs, scheduler=scheduler, options=part_opts, timeout=timeout, inline=inline) as workers:
        rendered, reused_at = render_parts(
            list(unique.values()), part_opts, workers, cache, timeout=timeout, progress=progress
        )
        by_path = dict(zip(order, rendered, strict=True))
        reused = {order[i] for i in reused_at}

        plans = []
        page_tasks: list[PageTask] = []
        fopts = front_options(part_opts)
        numbers_opts = folio_options(part_opts)
        for title, guides in groups:
            failed: list[ItemResult] = []
            refused: list[tuple[str, str]] = []
            entries: list[_Entry] = []
            parts: list[tuple[Guide, _Part]] = []
            start = 1
            for guide in guides:
                part = by_path[guide.path.resolve()]
                refused += [(str(guide.path), url) for url in part.refused]
                if part.error is not None:
                    failed.append(ItemResult(str(guide.path), None, Status.FAILED, error=part.error))
                    continue
                entries.append(_Entry(len(entries), guide, start, part.pages))
                parts.append((guide, part))
                start += part.pages
            note = comparison_note([e.guide for e in entries], *compare) if compare else None
            plans.append((title, entries, parts, failed, refused, note))
            if entries:
                html = front_matter_html(title, entries, fopts, note)
                page_tasks.append(PageTask(f"{title}: front matter", html, fopts, timeout))
                page_tasks.append(
                    PageTask(
                        f"{title}: page numbers",
                        folios_html(title, start - 1, numbers_opts),
                        numbers_opts,
                        timeout,
                    )
                )
        pages_out = workers.run(run_page, page_tasks, collect_theme(fopts)) if page_tasks else []
    cache.prune()

    results = []
    done = iter(pages_out)
    for title, entries, parts, failed, refused, note in plans:
        if not entries:
            results.append(PacketResult(title, None, (), (), 0, tuple(failed), tuple(refused)))
            continue
        front, folios = next(done), next(done)
        for extra in (front, folios):
            if extra.error or extra.data is None:
                raise RenderError(extra.error or f"{title}: front matter failed")
        pdf = join_packet(title, front.data or b"", folios.data or b"", parts, cache)
        result = PacketResult(
            title=title,
            pdf=pdf,
            sources=tuple(str(e.guide.path) for e in entries),
            starts=tuple(e.start for e in entries),
            pages=(front.pages or 0) + sum(e.pages for e in entries),
            failed=tuple(failed),
            refused=tuple(refused),
            seconds=time.monotonic() - started,
            reused=tuple(str(e.guide.path) for e in entries if e.guide.path.resolve() in reused),
            comparison=note,
        )
        if on_packet is not None:
            on_packet(len(results), result)
            result = replace(result, pdf=None)
        results.append(result)
    return results


def _count_pages(data: bytes) -> int:
    from .pdfinfo import page_count

    return page_count(data)


def _count_pages_in(handle: BinaryIO) -> int:
    """The page count of an open PDF file, reading only its structure."""
    import pikepdf

    try:
        with pikepdf.Pdf.open(handle, attempt_recovery=False) as document:
            return len(document.pages)
    except (pikepdf.PdfError, ValueError, OSError) as exc:
        raise RenderError(f"not a readable PDF: {exc}") from None


def _load_sorted(
    inputs: Sequence[Path | str | Guide], sort: str | None, rates: Rates | None = None
) -> tuple[list[Guide], list[ItemResult]]:
    if not inputs:
        raise UsageError("no guides selected for the packet")
    guides, failed = _load(inputs)
    return (sort_guides(guides, sort, rates) if sort else guides), failed


def _compare(sort: str | None, rates: Rates | None) -> tuple[str, Rates | None] | None:
    name = (sort or "").lstrip("-+")
    return (name, rates) if name in MONEY_FIELDS else None


def make_packet(
    inputs: Sequence[Path | str | Guide],
    options: RenderOptions | None = None,
    *,
    title: str | None = None,
    sort: str | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    cache_dir: Path | None = None,
    batch_dir: Path | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    progress: Callable[[ItemResult], None] | None = None,
    rates: Rates | None = None,
) -> PacketResult:
    """One packet of `inputs` (paths or loaded guides); guides that fail are listed, not fatal."""
    guides, failed = _load_sorted(inputs, sort, rates)
    result = make_packets(
        [(title or DEFAULT_TITLE, guides)],
        options,
        compare=_compare(sort, rates),
        jobs=jobs,
        scheduler=scheduler,
        cache_dir=cache_dir,
        batch_dir=batch_dir,
        timeout=timeout,
        progress=progress,
    )[0]
    return replace(result, failed=(*failed, *result.failed))


def make_grouped_packets(
    inputs: Sequence[Path | str | Guide],
    group_by: str,
    out_dir: Path,
    options: RenderOptions | None = None,
    *,
    title: str | None = None,
    sort: str | None = None,
    rates: Rates | None = None,
    write: Callable[[Path, PacketResult], None] | None = None,
    **run: Any,
) -> tuple[list[tuple[Path, PacketResult]], list[ItemResult]]:
    """One packet per value of `group_by`, named after the value, for writing into `out_dir`.

    With `write`, each packet is written as soon as it is joined and released (see `make_packets`).
    """
    guides, failed = _load_sorted(inputs, sort, rates)
    groups = group_guides(guides, group_by) if guides else {}
    labels = sorted(groups, key=lambda v: (v == "", v.casefold()))
    names, _ = plan_names([slugify(label) or "ungrouped" for label in labels], ".pdf")
    base = title or DEFAULT_TITLE
    titled = [
        (
            f"{base}: {_shown(label, groups[label], group_by)}" if label else f"{base}: no {group_by}",
            groups[label],
        )
        for label in labels
    ]

    def hand_over(index: int, result: PacketResult) -> None:
        if write is not None:
            write(out_dir / names[index], result)

    on_packet = hand_over if write is not None else None
    compare = _compare(sort, rates)
    results = make_packets(titled, options, compare=compare, on_packet=on_packet, **run) if titled else []
    return [(out_dir / name, r) for name, r in zip(names, results, strict=True)], failed


def _shown(label: str, guides: Sequence[Guide], group_by: str) -> str:
    """A group's name as printed: the display name for a company or role slug (`Jane Street`)."""
    display = {"company": "company_display", "role": "role_display"}.get(group_by)
    if display is not None:
        names = [getattr(g, display) for g in guides if getattr(g, display)]
        if names:
            return str(names[0])
    return label


def build_packet(
    guides: Sequence[Path | str | Guide],
    options: RenderOptions | None = None,
    *,
    title: str | None = None,
    sort: str | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    cache_dir: Path | None = None,
    batch_dir: Path | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> bytes:
    """A packet of `guides` (paths or loaded guides) as PDF bytes; raises if any guide fails."""
    result = make_packet(
        guides,
        options,
        title=title,
        sort=sort,
        jobs=jobs,
        scheduler=scheduler,
        cache_dir=cache_dir,
        batch_dir=batch_dir,
        timeout=timeout,
    )
    if result.failed or result.pdf is None:
        errors = [f.error or f.source for f in result.failed] or ["no guide could be rendered"]
        raise RenderError(errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
    return result.pdf
