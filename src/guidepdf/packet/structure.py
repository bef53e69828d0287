"""One structure tree for a joined file, and copying objects between files."""

from __future__ import annotations

from typing import Any


def copy_object(out: Any, obj: Any) -> Any:
    """`obj` from another file copied into `out`; objects already copied (pages) map to their copies."""
    from pikepdf import Array, Dictionary

    if obj is None:  # a null: content no element owns (an artifact) in a parent tree array
        return None
    if obj.is_indirect:
        return out.copy_foreign(obj)
    if isinstance(obj, Array):
        return Array([copy_object(out, item) for item in obj])
    if isinstance(obj, Dictionary):
        return Dictionary({key: copy_object(out, value) for key, value in obj.items()})
    return obj


def tree_pairs(node: Any, leaf: str) -> list[tuple[Any, Any]]:
    """A number or name tree's (key, value) pairs; `leaf` is /Nums or /Names."""
    if node is None:
        return []
    items = node.get(leaf) or []
    pairs = [(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
    for kid in node.get("/Kids") or []:
        pairs += tree_pairs(kid, leaf)
    return pairs


class Structure:
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
            self.namespaces.append(copy_object(out, namespace))
        role_map = tree.get("/RoleMap")
        for name in role_map.keys() if role_map is not None else ():
            if name not in self.role_map:
                self.role_map[name] = copy_object(out, role_map[name])
        tops = tree.get("/K")
        for top in tops if isinstance(tops, Array) else [tops] if tops is not None else []:
            if not isinstance(top, Dictionary):
                continue
            # Without its /P the copy stops at the element: the part's old root is not copied along.
            if "/P" in top:
                del top["/P"]
            element = out.copy_foreign(top) if top.is_indirect else copy_object(out, top)
            element.P = self.document
            if element.get("/S") == Name.Document:
                element.S = Name.Part  # one Document per file: a guide is a Part
            self.kids.append(element)
        offset = self.offset
        entries = sorted(
            ((int(key), value) for key, value in tree_pairs(tree.get("/ParentTree"), "/Nums")),
            key=lambda pair: pair[0],
        )
        for key, value in entries:
            self.nums += [key + offset, copy_object(out, value)]
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
            out.Root.Lang = copy_object(out, self.lang)
