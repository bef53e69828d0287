"""Shared fixtures: paths to the sample guides and the reference guide, and PDF readers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def seeds() -> Path:
    """The sample guides folder."""
    return SEEDS


@pytest.fixture
def reference_guide(tmp_path: Path) -> Path:
    """A copy of the reference guide (nulls in front matter, overdue review) in its own folder."""
    target = tmp_path / "jane-street-ml.md"
    shutil.copy(DATA / "reference.md", target)
    return target


def pdftotext(path: Path, *, layout: bool = False) -> str:
    """The text a reader sees, as poppler extracts it."""
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + [str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def pdfinfo(path: Path) -> dict[str, str]:
    """pdfinfo's fields as a dict."""
    out = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def structure_elements(path: Path) -> list[pypdf.generic.DictionaryObject]:
    """Every dictionary in the PDF's structure tree (elements, marked-content and object references)."""
    found: list[pypdf.generic.DictionaryObject] = []
    stack: list[object] = [pypdf.PdfReader(path).trailer["/Root"]["/StructTreeRoot"]]
    while stack:
        node = stack.pop()
        if isinstance(node, pypdf.generic.IndirectObject):
            node = node.get_object()
        if isinstance(node, pypdf.generic.ArrayObject):
            stack.extend(node)
        elif isinstance(node, pypdf.generic.DictionaryObject):
            found.append(node)
            if "/K" in node:
                stack.append(node["/K"])
    return found
