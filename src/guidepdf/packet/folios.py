"""Packet page numbers on the briefs' pages: each brief's own counter out, the packet's stamped in."""

from __future__ import annotations

from typing import Any

from ..conform import flate


def stamp_artifact(out: Any, page: Any, folio: Any) -> None:
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


def drop_own_counter(out: Any, page: Any) -> bool:
    """Take a brief's own "Page X of Y" (its bottom-right page-margin box, a pagination artifact) out
    of a packet page, whose stamped page number replaces it; False when the page has none."""
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
    stream = pikepdf.Stream(out, flate(data, 6, padding=b"\n"))
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
