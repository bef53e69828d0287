"""Shared fixtures: paths to the sample guides and the reference guide, and PDF readers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

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
