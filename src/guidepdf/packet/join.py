"""Front matter and parts joined into one tagged PDF (qpdf through pikepdf)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._version import __version__
from ..conform import save
from ..errors import RenderError
from ..fontshare import share_fonts
from ..guide import Guide
from .folios import drop_own_counter, stamp_artifact
from .front import PART_SCHEME
from .links import copy_outline, explicit_links, part_sections
from .parts import Part, PartCache
from .structure import Structure, copy_object


def join_packet(
    title: str,
    front: bytes,
    folios: bytes,
    parts: Sequence[tuple[Guide, Part]],
    cache: PartCache | None = None,
    advance: Callable[[], None] | None = None,
) -> bytes:
    """Front matter and parts as one tagged PDF: stamped page numbers (each in place of the brief's own
    counter, so a guide page shows one), live links, bookmarks (the cover, the contents, then each
    guide's), page labels and one structure tree holding every part's, in page order.

    Parts are joined one at a time: each is opened (from disk, checked against its recorded hash, or
    from bytes), its pages, links, bookmarks and structure are copied, its streams' encoded data is
    taken over, and it is closed before the next is opened. Memory therefore holds the joined file's
    objects and the encoded streams it will write, never more than one part's own objects.
    `advance` is called as each part has been copied.
    """
    import pikepdf
    from pikepdf import Array, Dictionary, Name, Pdf, String

    # The front matter and the page numbers stay open until the packet is written; each part only
    # while it is copied.
    with contextlib.ExitStack() as opened:
        out = opened.enter_context(Pdf.new())
        structure = Structure(out)
        front_pdf = opened.enter_context(_open(front, f"{title}: front matter"))
        out.pages.extend(front_pdf.pages)
        structure.add(front_pdf, 0)
        front_pages = len(out.pages)
        firsts: list[int] = []
        outline: list[pikepdf.OutlineItem] = []
        for guide, part in parts:
            with _open_part(part, cache, guide) as source:
                first = len(out.pages)
                firsts.append(first)
                out.pages.extend(source.pages)
                # A part's page references, read from its own file, mapped to the joined file's pages.
                pages = {page.objgen: out.pages[first + i].obj for i, page in enumerate(source.pages)}
                explicit_links(source, out, first, pages)
                top = pikepdf.OutlineItem(guide.title, first)
                top.is_closed = True
                top.children.extend(copy_outline(part_sections(source), pages, first))
                outline.append(top)
                structure.add(source, first)
                _take_streams(out.pages[first:])
            if advance is not None:
                advance()
        guide_pages = len(out.pages) - front_pages
        folio_pdf = opened.enter_context(_open(folios, f"{title}: page numbers"))
        if len(folio_pdf.pages) != guide_pages:
            raise RenderError(f"page numbers: {len(folio_pdf.pages)} pages for {guide_pages} guide pages")
        for offset, folio in enumerate(folio_pdf.pages):
            page = out.pages[front_pages + offset]
            drop_own_counter(out, page)  # the packet's page counter takes its place: one per page
            stamp_artifact(out, page, folio)

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
                out.Root.OutputIntents = copy_object(out, front_pdf.Root.OutputIntents)
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


@contextlib.contextmanager
def _open_part(part: Part, cache: PartCache | None, guide: Guide) -> Iterator[Any]:
    """A part open as a PDF: from its file on disk (checked against its recorded hash) or its bytes."""
    import pikepdf

    if part.data is not None:
        with _open(part.data, str(guide.path)) as source:
            yield source
        return
    found = cache.open(part.key) if cache is not None and part.key is not None else None
    if found is None:
        raise RenderError(f"{guide.path}: its brief left the cache before the packet was joined")
    with found[0] as handle:
        try:
            # No repairs: a damaged part is an error, not a packet with pages missing.
            source = pikepdf.Pdf.open(handle, attempt_recovery=False)
        except pikepdf.PdfError as exc:
            raise RenderError(f"{guide.path}: not a readable PDF: {exc}") from None
        with source:
            yield source


def _open(data: bytes, what: str) -> Any:
    import pikepdf

    try:
        # No repairs: a damaged part is an error, not a packet with pages missing.
        return pikepdf.Pdf.open(io.BytesIO(data), attempt_recovery=False)
    except pikepdf.PdfError as exc:
        raise RenderError(f"{what}: not a readable PDF: {exc}") from None
