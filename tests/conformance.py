"""The `page-validation` validator (veraPDF's PDF/A and PDF/UA rules, reimplemented) as test helpers.

`validate_pdf` returns a report whose `failures` hold one entry per failed rule (however many
objects broke it), each with a rule id such as `PDFUA1-L-KIDS-001` and a one-line description.
"""

from __future__ import annotations

from pathlib import Path

import pikepdf
from page import validate_pdf

#: Profiles by the --pdf-variant that claims them.
PROFILES = {"pdf/ua-1": "ua1", "pdf/a-3b": "3b"}

#: The PDF/UA-1 rules a file fails only because it claims nothing: no XMP, so no PDF/UA
#: identification and no dc:title in it. Every other rule is about the file's structure and content.
UNCLAIMED_UA = frozenset(
    {
        "PDFUA1-ID-PART-001",
        "PDFUA1-ID-SCHEMA-001",
        "PDFUA1-METADATA-STRUCTURE-001",
        "PDFUA1-METADATA-TITLE-001",
    }
)


def failed_rules(path: Path, profile: str) -> dict[str, str]:
    """Each rule `path` fails under `profile` ("ua1", "3b"), with its description."""
    report = validate_pdf(path, profile=profile)
    return {failure.rule_id: failure.message for failure in report.failures}


def structure_failures(path: Path) -> dict[str, str]:
    """The PDF/UA-1 rules `path` fails, leaving out those only a file that claims PDF/UA must pass."""
    return {rule: text for rule, text in failed_rules(path, "ua1").items() if rule not in UNCLAIMED_UA}


def number_tree(node: pikepdf.Object | None) -> dict[int, pikepdf.Object]:
    """A number tree (the structure tree's /ParentTree) as a dict."""
    if node is None:
        return {}
    items = node.get("/Nums") or []
    found = {int(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)}
    for kid in node.get("/Kids") or []:
        found.update(number_tree(kid))
    return found


def reachable_elements(pdf: pikepdf.Pdf) -> set[tuple[int, int]]:
    """The structure elements a reader reaches from the structure tree's root."""
    seen: set[tuple[int, int]] = set()
    todo: list[object] = [pdf.Root.StructTreeRoot.get("/K")]
    while todo:
        node = todo.pop()
        if isinstance(node, pikepdf.Array):
            todo.extend(node)
        elif isinstance(node, pikepdf.Dictionary) and "/S" in node and node.objgen not in seen:
            seen.add(node.objgen)
            todo.append(node.get("/K"))
    return seen


def orphan_content(path: Path) -> list[tuple[int, int]]:
    """(page, MCID) of marked content whose owner in the parent tree hangs off no structure tree."""
    with pikepdf.open(path) as pdf:
        reachable = reachable_elements(pdf)
        parents = number_tree(pdf.Root.StructTreeRoot.get("/ParentTree"))
        orphans = []
        for number, page in enumerate(pdf.pages, 1):
            key = page.obj.get("/StructParents")
            owners = parents.get(int(key)) if key is not None else None
            for mcid, owner in enumerate(owners if isinstance(owners, pikepdf.Array) else []):
                if isinstance(owner, pikepdf.Dictionary) and owner.objgen not in reachable:
                    orphans.append((number, mcid))
        return orphans


def pagination_artifacts(path: Path) -> list[int]:
    """How many `/Artifact <</Type /Pagination>>` sequences each page's content has."""
    with pikepdf.open(path) as pdf:
        counts = []
        for page in pdf.pages:
            count = 0
            for instruction in pikepdf.parse_content_stream(page):
                operands = getattr(instruction, "operands", [])
                if str(instruction.operator) == "BDC" and operands[0] == pikepdf.Name.Artifact:
                    properties = operands[1]
                    count += (
                        isinstance(properties, pikepdf.Dictionary)
                        and properties.get("/Type") == "/Pagination"
                    )
            counts.append(count)
        return counts
