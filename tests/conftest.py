"""Shared fixtures: paths to the sample guides and the reference guide, and PDF readers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

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


_AFTER_COMMAND = """
import gc, json, sys
from guidepdf.cli import main
sys.argv = ["guidepdf", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print(json.dumps({report}), file=sys.stderr)
"""


def after_command(args: list[str], report: str, cwd: Path | None = None) -> Any:
    """Run `guidepdf ARGS` in a new Python process, then evaluate `report` there (it may use `gc`,
    `sys`); its value, as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", _AFTER_COMMAND.format(report=report), json.dumps(args)],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    )
    return json.loads(done.stderr.strip().splitlines()[-1])
