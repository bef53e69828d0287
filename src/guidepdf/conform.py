"""Finish a PDF that WeasyPrint wrote so that it passes PDF/UA-1 and PDF/A-3b validation.

WeasyPrint leaves a few things a validator rejects: running headers and footers (page margin boxes)
are marked as content of structure elements that hang off no tree, a link annotation inside a
styled span is owned by a Span instead of its Link, PDF/A files carry a compressed XMP stream and
interpolated images, and a stream whose data ends in a carriage return reads as one byte short
(that CR and the newline before `endstream` look like one end-of-line marker).
These functions mend them with pikepdf, deterministically (the same input gives the same bytes).
"""

from __future__ import annotations

import io
import re
from typing import Any

#: `pikepdf.Pdf.save` options for every file guidepdf writes: the file ID is a hash of the content,
#: so the same input gives the same bytes.
SAVE_OPTIONS: dict[str, Any] = {"deterministic_id": True, "preserve_pdfa": True}
#: A marked-content operator as WeasyPrint writes it: `/Tag`, `<</MCID n>>` and `BDC`, a line each.
_MARKED_RE = re.compile(rb"^/([^\s/<>\[\]()]+)\n<</MCID (\d+)>>\nBDC$", re.M)
#: How many times a file with object streams is written again, shifted, to get no stream ending in CR.
PAD_TRIES = 12


def finish_pdf(data: bytes, variant: str | None, *, identifier: bytes | None = None) -> bytes:
    """`data` with the structure mended and, for `pdf/a-3b`, the PDF/A stream rules applied.

    With `identifier`, it is the first half of the file ID (the second is a hash of the content).
    """
    import pikepdf

    with pikepdf.Pdf.open(io.BytesIO(data)) as pdf:
        if identifier:
            # qpdf keeps the first half of an ID it finds and makes the second from what it writes.
            pdf.trailer.ID = pikepdf.Array([pikepdf.String(identifier), pikepdf.String(identifier)])
        mend_structure(pdf)
        plain_metadata(pdf)
        if variant == "pdf/a-3b":
            no_interpolation(pdf)
        return save(pdf)


def save(pdf: Any, **options: Any) -> bytes:
    """`pdf` written deterministically, with no stream whose encoded data ends in a carriage return.

    Such a stream cannot be fixed by recompressing it (a Flate stream ends in the checksum of its
    decoded data), so it is wrapped in ASCII85, whose data always ends in `~>`. It is rare (one stream
    in 256), so the file is written once and only written again when one turned up.
    """
    import pikepdf

    # Streams are written as they are encoded: qpdf would otherwise undo the ASCII85 a part's rare
    # CR-ending stream was wrapped in, compress it again, and bring the carriage return back.
    options = {"stream_decode_level": pikepdf.StreamDecodeLevel.none, **options}
    buffer = io.BytesIO()
    pdf.save(buffer, **SAVE_OPTIONS, **options)
    data = buffer.getvalue()
    if not _ends_in_cr(data):
        return data
    # The stream may be one qpdf compresses as it writes (an object stream, whose Flate data ends in
    # the checksum of what it holds): it cannot be wrapped, and written uncompressed every object
    # stream would be too (a packet twice its size). One small object referenced from the trailer
    # shifts every object into another stream, so they hold other bytes; still deterministic.
    if options.get("object_stream_mode") is not None:
        if "/Metadata" not in pdf.Root:
            # A file that claims no PDF/A or PDF/UA conformance is valid PDF with such a stream; only
            # those profiles' EOL rule minds it, so it is not written again to avoid one.
            return data
        try:
            # Each try is a fresh draw for every object stream (1 in 256 ends in CR): a packet of a
            # few hundred streams needs a handful of tries; one of thousands may never come clean.
            for n in range(1, PAD_TRIES + 1):
                pdf.trailer.GuidepdfPad = pdf.make_indirect(pikepdf.Array([n]))
                buffer = io.BytesIO()
                pdf.save(buffer, **SAVE_OPTIONS, **options)
                if not _ends_in_cr(buffer.getvalue()):
                    return buffer.getvalue()
        finally:
            del pdf.trailer.GuidepdfPad
    with pikepdf.Pdf.open(io.BytesIO(data)) as again:
        for obj in again.objects:
            if isinstance(obj, pikepdf.Stream) and obj.read_raw_bytes().endswith(b"\r"):
                _wrap_ascii85(obj)
        buffer = io.BytesIO()
        # Every stream is compressed by now; left alone, qpdf would unwrap the ASCII85 and recompress.
        again.save(buffer, **SAVE_OPTIONS, **{**options, "compress_streams": False})
        return buffer.getvalue()


def flate(data: bytes, level: int = 6, *, padding: bytes = b"") -> bytes:
    """`data` Flate-encoded at `level`.

    A zlib stream ends in the Adler-32 checksum of its data, whatever the level, so one in 256 ends
    in a carriage return (such a stream would have to be wrapped in ASCII85 in a PDF/A file). Given
    `padding` that the data may end with (white space after a content stream's last operator), such
    data is padded instead, which moves the checksum's last byte off the carriage return.
    """
    import zlib

    encoded = zlib.compress(data, level)
    if padding and encoded.endswith(b"\r"):
        encoded = zlib.compress(data + padding, level)
    return encoded


def _ends_in_cr(data: bytes) -> bool:
    return b"\rendstream" in data or b"\r\nendstream" in data


def _wrap_ascii85(stream: Any) -> None:
    """Put ASCII85 in front of a stream's filters, its encoded data unchanged beneath it."""
    import base64

    from pikepdf import Array, Name

    filters = stream.get("/Filter")
    filters = list(filters) if isinstance(filters, Array) else [] if filters is None else [filters]
    parms = stream.get("/DecodeParms")
    raw = stream.read_raw_bytes()
    encoded = base64.a85encode(raw) + b"~>"
    if parms is None:
        stream.write(encoded, filter=Array([Name.ASCII85Decode, *filters]))
    else:
        parms = list(parms) if isinstance(parms, Array) else [parms]
        stream.write(
            encoded, filter=Array([Name.ASCII85Decode, *filters]), decode_parms=Array([None, *parms])
        )


def mend_structure(pdf: Any) -> None:
    """Mark orphan marked content as pagination artifacts and give every link annotation to its Link."""
    tree = pdf.Root.get("/StructTreeRoot")
    if tree is None or "/ParentTree" not in tree:
        return
    parents = dict(number_tree(tree.ParentTree))
    reachable = _reachable(tree)
    for page in pdf.pages:
        key = page.obj.get("/StructParents")
        owners = parents.get(int(key)) if key is not None else None
        if owners is not None:
            _artifact_orphans(pdf, page, owners, reachable)
        for annot in page.obj.get("/Annots") or []:
            if annot.get("/Subtype") == "/Link" and "/StructParent" in annot:
                _link_owner(annot, parents, int(annot.StructParent), tree.ParentTree)


def number_tree(node: Any) -> list[tuple[int, Any]]:
    """A number tree's (key, value) pairs, leaves in order."""
    if node is None:
        return []
    items = node.get("/Nums") or []
    pairs = [(int(items[i]), items[i + 1]) for i in range(0, len(items) - 1, 2)]
    for kid in node.get("/Kids") or []:
        pairs += number_tree(kid)
    return pairs


def _reachable(tree: Any) -> set[tuple[int, int]]:
    """The indirect structure elements reachable from the tree's root."""
    from pikepdf import Array, Dictionary

    seen: set[tuple[int, int]] = set()
    todo = [tree.get("/K")]
    while todo:
        node = todo.pop()
        if isinstance(node, Array):
            todo.extend(node)
        elif isinstance(node, Dictionary) and "/S" in node:
            if node.is_indirect:
                if node.objgen in seen:
                    continue
                seen.add(node.objgen)
            todo.append(node.get("/K"))
    return seen


def _artifact_orphans(pdf: Any, page: Any, owners: Any, reachable: set[tuple[int, int]]) -> None:
    """Turn marked content owned by unreachable elements (WeasyPrint's margin boxes: running header
    and footer) into `/Artifact <</Type /Pagination>>`, as PDF/UA asks of page furniture."""
    import pikepdf
    from pikepdf import Array, Dictionary, Name

    if not isinstance(owners, Array):
        return
    orphans = set()
    for mcid, owner in enumerate(owners):
        if isinstance(owner, Dictionary) and owner.is_indirect and owner.objgen not in reachable:
            orphans.add(mcid)
            owners[mcid] = None  # no element owns this content any more
    if not orphans:
        return
    contents = page.obj.get("/Contents")
    if isinstance(contents, pikepdf.Stream):
        # WeasyPrint writes each operand and operator on a line of its own: the orphans' operators
        # are rewritten in the bytes, without parsing every instruction of the page and writing it again.
        data = contents.read_bytes()
        found: set[int] = set()

        def artifact(match: re.Match[bytes]) -> bytes:
            mcid = int(match.group(2))
            if mcid not in orphans:
                return match.group(0)
            found.add(mcid)
            return b"/Artifact\n<</Type /Pagination>>\nBDC"

        mended = _MARKED_RE.sub(artifact, data)
        if found == orphans:
            page.obj.Contents = pdf.make_stream(mended)
            return
    begin = pikepdf.Operator("BDC")
    instructions: list[Any] = []
    for instruction in pikepdf.parse_content_stream(page):
        if isinstance(instruction, pikepdf.ContentStreamInstruction) and instruction.operator == begin:
            properties = instruction.operands[1] if len(instruction.operands) == 2 else None
            if isinstance(properties, Dictionary) and int(properties.get("/MCID", -1)) in orphans:
                pagination = [Name.Artifact, Dictionary(Type=Name.Pagination)]
                instruction = pikepdf.ContentStreamInstruction(pagination, begin)
        instructions.append(instruction)
    page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))


def _link_owner(annot: Any, parents: dict[int, Any], key: int, parent_tree: Any) -> None:
    """Move a link annotation's object reference from a Span (text inside `<a>`) to the Link around it."""
    from pikepdf import Array, Dictionary, Name

    owner = parents.get(key)
    if not isinstance(owner, Dictionary) or owner.get("/S") == Name.Link:
        return
    link = owner.get("/P")
    while isinstance(link, Dictionary) and link.get("/S") not in (Name.Link, None):
        link = link.get("/P")
    if not isinstance(link, Dictionary) or link.get("/S") != Name.Link:
        owner.S = Name.Link  # no Link around it: the element holding the annotation is the link
        return
    kids = _kids(owner)
    moved = [k for k in kids if _refers_to(k, annot)]
    owner.K = Array([k for k in kids if not _refers_to(k, annot)])
    link.K = Array([*_kids(link), *moved])
    parents[key] = link
    _set_number(parent_tree, key, link)


def _kids(element: Any) -> list[Any]:
    """An element's /K as a list, whether it holds one kid or an array."""
    from pikepdf import Array

    kids = element.get("/K")
    return list(kids) if isinstance(kids, Array) else [] if kids is None else [kids]


def _refers_to(kid: Any, annot: Any) -> bool:
    """Whether `kid` is an object reference (OBJR) to `annot`."""
    from pikepdf import Dictionary

    target = kid.get("/Obj") if isinstance(kid, Dictionary) else None
    return target is not None and target.is_indirect and target.objgen == annot.objgen


def _set_number(node: Any, key: int, value: Any) -> bool:
    items = node.get("/Nums")
    if items is not None:
        for i in range(0, len(items) - 1, 2):
            if int(items[i]) == key:
                items[i + 1] = value
                return True
    return any(_set_number(kid, key, value) for kid in node.get("/Kids") or [])


def plain_metadata(pdf: Any) -> None:
    """Store the XMP metadata uncompressed: PDF/A forbids a filter on it, and any tool can read it."""
    metadata = pdf.Root.get("/Metadata")
    if metadata is not None and "/Filter" in metadata:
        metadata.write(metadata.read_bytes())


def no_interpolation(pdf: Any) -> None:
    """PDF/A forbids image interpolation (it looks different in each viewer): turn it off everywhere."""
    from pikepdf import Dictionary, Stream

    seen: set[tuple[int, int]] = set()
    todo: list[Any] = [page.obj.get("/Resources") for page in pdf.pages]
    while todo:
        resources = todo.pop()
        if not isinstance(resources, Dictionary):
            continue
        for xobject in (resources.get("/XObject") or Dictionary()).values():
            if not isinstance(xobject, Stream) or xobject.objgen in seen:
                continue
            seen.add(xobject.objgen)
            if "/Interpolate" in xobject:
                del xobject["/Interpolate"]
            todo.append(xobject.get("/Resources"))
            smask = xobject.get("/SMask")
            if isinstance(smask, Stream) and "/Interpolate" in smask:
                del smask["/Interpolate"]
