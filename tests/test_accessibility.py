"""Briefs are tagged PDFs with a language by default; PDF/UA-1 and PDF/A-3b variants say so in XMP."""

from __future__ import annotations

import io
import subprocess
from datetime import date
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner

from conftest import structure_elements
from guidepdf import RenderOptions, load_guide, render_pdf
from guidepdf.cli import main

AS_OF = date(2026, 11, 23)
REFERENCE = Path(__file__).parent / "data" / "reference.md"


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The reference brief written by the CLI as a plain, PDF/UA-1 and PDF/A-3b file."""
    folder = tmp_path_factory.mktemp("variants")
    runner = CliRunner()
    paths = {}
    for variant in ("plain", "pdf/ua-1", "pdf/a-3b"):
        out = folder / (variant.replace("/", "-") + ".pdf")
        args = ["render", str(REFERENCE), "-o", str(out), "--as-of", "2026-11-23"]
        if variant != "plain":
            args += ["--pdf-variant", variant]
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        paths[variant] = out
    return paths


def catalog(path: Path) -> pypdf.generic.DictionaryObject:
    return pypdf.PdfReader(path).trailer["/Root"]


def xmp(path: Path) -> str:
    return catalog(path)["/Metadata"].get_object().get_data().decode("utf-8")


def structure_types(path: Path) -> set[str]:
    """Every structure element type in the tag tree."""
    return {str(node["/S"]) for node in structure_elements(path) if "/S" in node}


@pytest.mark.parametrize("variant", ["plain", "pdf/ua-1", "pdf/a-3b"])
def test_every_variant_is_tagged_with_a_language(variants: dict[str, Path], variant: str) -> None:
    root = catalog(variants[variant])
    assert root["/MarkInfo"]["/Marked"] == True  # noqa: E712  (a pypdf BooleanObject)
    assert root["/Lang"] == "en"
    types = structure_types(variants[variant])
    assert {"/H1", "/Table", "/TH", "/TD", "/L", "/LI", "/P"} <= types


def test_pdf_ua_declares_itself_in_xmp(variants: dict[str, Path]) -> None:
    meta = xmp(variants["pdf/ua-1"])
    assert 'pdfuaid:part="1"' in meta
    assert "Jane Street — ML/AI Engineer" in meta  # dc:title, which PDF/UA requires
    viewer = catalog(variants["pdf/ua-1"])["/ViewerPreferences"]
    assert viewer["/DisplayDocTitle"] == True  # noqa: E712


def test_pdf_a3b_declares_itself_and_keeps_its_attachments(variants: dict[str, Path]) -> None:
    meta = xmp(variants["pdf/a-3b"])
    assert 'pdfaid:part="3"' in meta and 'pdfaid:conformance="B"' in meta
    root = catalog(variants["pdf/a-3b"])
    assert "/OutputIntents" in root
    relationships = sorted(str(f.get_object()["/AFRelationship"]) for f in root["/AF"])
    assert relationships == ["/Data", "/Source"]


@pytest.mark.parametrize("variant", ["plain", "pdf/ua-1", "pdf/a-3b"])
def test_qpdf_finds_no_damage(variants: dict[str, Path], variant: str) -> None:
    result = subprocess.run(["qpdf", "--check", str(variants[variant])], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


def test_plain_brief_has_no_conformance_claim(variants: dict[str, Path]) -> None:
    root = catalog(variants["plain"])
    assert "/Metadata" not in root or "pdfaid" not in xmp(variants["plain"])


def test_document_language_follows_the_guide(tmp_path: Path) -> None:
    guide = tmp_path / "de.md"
    guide.write_text("---\ncompany: kestrel\nrole: designer\nlang: de\n---\n# Gehalt\n\nText.\n")
    pdf = render_pdf(load_guide(guide), RenderOptions(as_of=AS_OF))
    assert pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Lang"] == "de"


def test_tagging_can_be_turned_off_for_plain_briefs(tmp_path: Path) -> None:
    guide = tmp_path / "g.md"
    guide.write_text("# Plain\n\nText.\n")
    untagged = render_pdf(load_guide(guide), RenderOptions(as_of=AS_OF, tagged=False))
    assert "/StructTreeRoot" not in pypdf.PdfReader(io.BytesIO(untagged)).trailer["/Root"]
    ua = render_pdf(load_guide(guide), RenderOptions(as_of=AS_OF, tagged=False, pdf_variant="pdf/ua-1"))
    assert "/StructTreeRoot" in pypdf.PdfReader(io.BytesIO(ua)).trailer["/Root"]
