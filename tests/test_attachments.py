"""A brief carries its guide file and front matter as embedded files a machine can read back."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import date
from pathlib import Path

import pypdf
import pytest

from guidepdf import RenderOptions, load_guide, render_pdf
from guidepdf.sources import front_matter_json

AS_OF = date(2026, 11, 23)


@pytest.fixture(scope="module")
def guide_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference guide with CRLF line ends and a BOM, so 'byte for byte' means something."""
    source = Path(__file__).parent / "data" / "reference.md"
    target = tmp_path_factory.mktemp("attach") / "jane-street-ml.md"
    target.write_bytes(b"\xef\xbb\xbf" + source.read_bytes().replace(b"\n", b"\r\n"))
    return target


@pytest.fixture(scope="module")
def brief(guide_file: Path) -> bytes:
    return render_pdf(load_guide(guide_file), RenderOptions(as_of=AS_OF))


def test_guide_file_is_embedded_byte_for_byte(brief: bytes, guide_file: Path) -> None:
    files = pypdf.PdfReader(io.BytesIO(brief)).attachments
    assert files["jane-street-ml.md"] == [guide_file.read_bytes()]


def test_front_matter_is_embedded_as_json(brief: bytes) -> None:
    files = pypdf.PdfReader(io.BytesIO(brief)).attachments
    data = json.loads(files["jane-street-ml.front-matter.json"][0])
    assert data["company"] == "jane-street"
    assert data["last_updated"] == "2026-02-23"  # dates as ISO strings
    assert data["compensation"][0]["total_comp_high"] == 775000
    assert data["compensation"][1]["base_low"] is None  # nulls survive as nulls
    assert data["level_mapping"] == {"internal": None}


def test_attachments_have_fixed_dates_and_relationships(brief: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(brief))
    root = reader.trailer["/Root"]
    specs = {str(s.get_object()["/UF"]): s.get_object() for s in root["/AF"]}
    assert specs["jane-street-ml.md"]["/AFRelationship"] == "/Source"
    assert specs["jane-street-ml.front-matter.json"]["/AFRelationship"] == "/Data"
    for spec in specs.values():
        params = spec["/EF"]["/F"].get_object()["/Params"]
        assert params["/CreationDate"] == params["/ModDate"] == "D:20260223000000Z"


def test_same_guide_same_bytes(brief: bytes, guide_file: Path) -> None:
    assert render_pdf(load_guide(guide_file), RenderOptions(as_of=AS_OF)) == brief


def test_attachments_can_be_turned_off(guide_file: Path) -> None:
    pdf = render_pdf(load_guide(guide_file), RenderOptions(as_of=AS_OF, attach_sources=False))
    assert pypdf.PdfReader(io.BytesIO(pdf)).attachments == {}


def test_qpdf_finds_each_attachment_by_name(brief: bytes, tmp_path: Path, guide_file: Path) -> None:
    path = tmp_path / "brief.pdf"
    path.write_bytes(brief)

    def qpdf(*args: str) -> bytes:
        return subprocess.run(["qpdf", *args, str(path)], check=True, capture_output=True).stdout

    listing = qpdf("--list-attachments").decode()
    assert "jane-street-ml.md" in listing and "jane-street-ml.front-matter.json" in listing
    # looking a name up needs the name tree sorted, as PDF requires
    assert qpdf("--show-attachment=jane-street-ml.md") == guide_file.read_bytes()
    data = json.loads(qpdf("--show-attachment=jane-street-ml.front-matter.json"))
    assert data["compensation"][0]["currency"] == "USD"


def test_front_matter_json_handles_odd_yaml(tmp_path: Path) -> None:
    path = tmp_path / "odd.md"
    path.write_text("---\nwhen: 2026-01-02T03:04:05\n1: one\nnested: {2026-01-01: x}\nnan: .nan\n---\nHi\n")
    data = json.loads(front_matter_json(load_guide(path)))
    assert data == {"when": "2026-01-02T03:04:05", "1": "one", "nested": {"2026-01-01": "x"}, "nan": None}
