"""A part's links and bookmarks, pointed at the joined file's pages."""

from __future__ import annotations

from typing import Any

from .structure import tree_pairs


def map_dest(dest: Any, pages: dict[Any, Any]) -> Any:
    """An explicit destination in a part, pointed at the joined file's page; None if it is not one."""
    from pikepdf import Array, Dictionary

    if isinstance(dest, Dictionary):
        dest = dest.get("/D")
    if not isinstance(dest, Array) or len(dest) == 0:
        return None
    page = pages.get(dest[0].objgen)
    return None if page is None else Array([page, *list(dest)[1:]])


def explicit_links(source: Any, out: Any, first: int, pages: dict[Any, Any]) -> None:
    """Turn a part's links to named destinations into links to pages of the joined file (names from
    different parts would clash, so the packet keeps none)."""
    from pikepdf import Array, Name

    names = source.Root.get("/Names")
    tree = names.get("/Dests") if names is not None else None
    targets = {bytes(name): map_dest(dest, pages) for name, dest in tree_pairs(tree, "/Names")}
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


def part_sections(source: Any) -> Any:
    """The outline node whose children are a part's sections: under its own title bookmark if it has
    one, since the packet's bookmark for the guide takes that place; None when there are none."""
    outlines = source.Root.get("/Outlines")
    first = outlines.get("/First") if outlines is not None else None
    if first is None:
        return None
    if "/Next" not in first:
        return first if "/First" in first else None
    return outlines


def copy_outline(node: Any, pages: dict[Any, Any], first: int) -> list[Any]:
    import pikepdf

    items = []
    item = node.get("/First") if node is not None else None
    while item is not None:
        dest = item.get("/Dest")
        action = item.get("/A")
        if dest is None and action is not None and action.get("/S") == pikepdf.Name.GoTo:
            dest = action.get("/D")
        copied = pikepdf.OutlineItem(str(item.get("/Title", "")), map_dest(dest, pages) or first)
        copied.children.extend(copy_outline(item, pages, first))
        items.append(copied)
        item = item.get("/Next")
    return items
