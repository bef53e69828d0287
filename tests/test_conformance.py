"""PDF/UA-1 and PDF/A-3b as an independent validator (page-validation) sees them, briefs and packets.

Every sample guide is rendered once per variant (module fixtures; the packets reuse those briefs),
then checked rule by rule: a file that claims a variant must fail no rule of it, and a file that
claims nothing may fail only the rules about that claim.
"""

from __future__ import annotations

import io
import subprocess
import zlib
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner

from conformance import (
    PROFILES,
    UNCLAIMED_UA,
    failed_rules,
    orphan_content,
    pagination_artifacts,
    structure_failures,
)
from conftest import SEEDS, pdftotext
from guidepdf.cli import main
from guidepdf.conform import save

SEED_NAMES = sorted(p.stem for p in SEEDS.glob("*.md"))
pytestmark = pytest.mark.slow  # renders every sample three times: about a minute on two busy cores

IMAGE_GUIDE = "northwind-robotics-software-engineer"
VARIANTS = ("plain", *PROFILES)


def run(args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args, "--as-of", "2026-11-23"])
    assert result.exit_code == 0, result.output


def render(args: list[str]) -> None:
    run([*args, "--jobs", "2"])


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A folder per variant holding every seed's brief and a packet of them all (`packet.pdf`)."""
    folders = {}
    for variant in VARIANTS:
        folder = tmp_path_factory.mktemp(variant.replace("/", "-"))
        claim = [] if variant == "plain" else ["--pdf-variant", variant]
        render(["render", str(SEEDS), "-o", str(folder), *claim])
        render(["packet", str(SEEDS), "-o", str(folder / "packet.pdf"), "--title", "Offers", *claim])
        folders[variant] = folder
    return folders


def brief(outputs: dict[str, Path], variant: str, seed: str) -> Path:
    (path,) = outputs[variant].glob(f"{seed}.pdf")
    return path


@pytest.mark.parametrize("variant", list(PROFILES))
@pytest.mark.parametrize("seed", SEED_NAMES)
def test_every_sample_brief_passes_its_variant(outputs: dict[str, Path], variant: str, seed: str) -> None:
    assert failed_rules(brief(outputs, variant, seed), PROFILES[variant]) == {}


@pytest.mark.parametrize("seed", SEED_NAMES)
def test_default_briefs_fail_no_structure_rule(outputs: dict[str, Path], seed: str) -> None:
    path = brief(outputs, "plain", seed)
    assert structure_failures(path) == {}
    assert set(failed_rules(path, "ua1")) == UNCLAIMED_UA  # it claims nothing, and says so
    assert "PDFA3B-STREAM-LENGTH-001" not in failed_rules(path, "3b")  # file syntax holds anyway


def test_the_image_guide_keeps_its_image_uninterpolated(outputs: dict[str, Path]) -> None:
    """The sample with a picture really has one in every variant; the PDF/A brief does not smooth it."""
    for variant in VARIANTS:
        with pikepdf.open(brief(outputs, variant, IMAGE_GUIDE)) as pdf:
            images = [
                xobject
                for page in pdf.pages
                for xobject in (page.Resources.get("/XObject") or {}).values()
                if xobject.get("/Subtype") == "/Image"
            ]
            assert images, variant
            if variant == "pdf/a-3b":
                assert all(not image.get("/Interpolate", False) for image in images)


@pytest.mark.parametrize("variant", list(PROFILES))
def test_packets_pass_their_variant(outputs: dict[str, Path], variant: str) -> None:
    packet = outputs[variant] / "packet.pdf"
    assert failed_rules(packet, PROFILES[variant]) == {}
    assert "Offers" in pdftotext(packet)
    with pikepdf.open(packet) as pdf:
        assert pdf.open_metadata()["dc:title"] == "Offers"
        assert str(pdf.docinfo["/Title"]) == "Offers"


def test_default_packet_fails_no_structure_rule(outputs: dict[str, Path]) -> None:
    packet = outputs["plain"] / "packet.pdf"
    assert structure_failures(packet) == {}
    assert set(failed_rules(packet, "ua1")) == UNCLAIMED_UA


@pytest.mark.parametrize("variant", VARIANTS)
def test_running_header_footer_and_packet_numbers_are_pagination_artifacts(
    outputs: dict[str, Path], variant: str
) -> None:
    for path in (brief(outputs, variant, "kestrel-games-product-designer"), outputs[variant] / "packet.pdf"):
        assert orphan_content(path) == [], path
    kestrel = brief(outputs, variant, "kestrel-games-product-designer")
    counts = pagination_artifacts(kestrel)
    assert len(counts) > 1 and all(counts), counts  # every page has its running footer
    text = pdftotext(kestrel)
    assert "Page 2 of" in text and "Data as of 19 Aug 2026" in text  # still printed, only not read aloud
    packet = outputs[variant] / "packet.pdf"
    assert all(pagination_artifacts(packet)[3:])  # the guides' pages: their footers and packet numbers


@pytest.mark.parametrize("variant", VARIANTS)
def test_contents_links_are_links_named_after_their_guide(outputs: dict[str, Path], variant: str) -> None:
    """A screen reader announces each contents link by its guide and packet page, not an internal address."""
    packet = outputs[variant] / "packet.pdf"
    with pikepdf.open(packet) as pdf:
        items = pdf.Root.StructTreeRoot.ParentTree.Nums
        parents = {int(items[i]): items[i + 1] for i in range(0, len(items), 2)}
        front = int(pdf.Root.PageLabels.Nums[2])  # guide pages are numbered from 1 after the front matter
        labels = {}
        for page in pdf.pages[:front]:
            for annot in page.get("/Annots") or []:
                if "/Dest" in annot:
                    assert str(parents[int(annot.StructParent)].S) == "/Link"
                    labels[str(annot.Contents)] = pdf.pages.index(pikepdf.Page(annot.Dest[0]))
    assert len(labels) == len(SEED_NAMES)
    for label, index in labels.items():
        title, _, number = label.rpartition(", page ")
        assert int(number) == index - front + 1
        assert title.split(" — ")[0] in page_text(packet, index), label  # the page it names starts that guide
    assert any(label.startswith("Kestrel Games — Product Designer, page ") for label in labels)


def page_text(path: Path, index: int) -> str:
    number = str(index + 1)
    args = ["pdftotext", "-enc", "UTF-8", "-f", number, "-l", number, str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize("variant", VARIANTS)
def test_conforming_output_is_deterministic(outputs: dict[str, Path], variant: str, tmp_path: Path) -> None:
    again = tmp_path / "again.pdf"
    claim = [] if variant == "plain" else ["--pdf-variant", variant]
    render(["render", str(SEEDS / f"{IMAGE_GUIDE}.md"), "-o", str(again), *claim])
    assert again.read_bytes() == brief(outputs, variant, IMAGE_GUIDE).read_bytes()


def test_a_stream_ending_in_a_carriage_return_is_written_so_its_length_reads_right() -> None:
    """A Flate stream ends in its data's checksum, so some end in CR: such a stream is wrapped in ASCII85."""
    texts = (b"a content stream, version %d\n" % n for n in range(10_000))
    text = next(t for t in texts if zlib.compress(t).endswith(b"\r"))
    pdf = pikepdf.new()
    pdf.add_blank_page()
    stream = pdf.make_stream(zlib.compress(text), Filter=pikepdf.Name.FlateDecode)
    pdf.Root.Extra = stream
    data = save(pdf)
    assert b"\r\nendstream" not in data and b"\rendstream" not in data
    with pikepdf.open(io.BytesIO(data)) as again:
        assert again.Root.Extra.read_bytes() == text
        assert again.Root.Extra.Filter == [pikepdf.Name.ASCII85Decode, pikepdf.Name.FlateDecode]
    assert save(pdf) == data


# -- a configuration that asks for a variant ---------------------------------------------------------


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the README's sample setting `pdf_variant = "pdf/ua-1"`, made the current folder."""
    (tmp_path / "guidepdf.toml").write_text('pdf_variant = "pdf/ua-1"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_packet_honours_the_configured_variant(configured: Path) -> None:
    out = configured / "packet.pdf"
    render(["packet", str(SEEDS / "kestrel-games-product-designer.md"), "-o", str(out)])
    assert failed_rules(out, "ua1") == {}


def test_the_command_line_variant_wins_over_the_configured_one(configured: Path) -> None:
    out = configured / "packet.pdf"
    render(
        [
            "packet",
            str(SEEDS / "kestrel-games-product-designer.md"),
            "-o",
            str(out),
            "--pdf-variant",
            "pdf/a-3b",
        ]
    )
    assert failed_rules(out, "3b") == {}
    assert "PDFUA1-ID-PART-001" in failed_rules(out, "ua1")


def test_email_packet_honours_the_configured_variant(configured: Path) -> None:
    eml = configured / "mail.eml"
    args = [
        "email",
        str(SEEDS / "kestrel-games-product-designer.md"),
        "--packet",
        "--to",
        "ann@example.com",
        "--from",
        "coach@example.org",
        "--eml",
        str(eml),
    ]
    run(args)
    message: Message = message_from_bytes(eml.read_bytes())
    (attachment,) = [part for part in message.walk() if part.get_content_type() == "application/pdf"]
    packet = configured / "attached.pdf"
    packet.write_bytes(attachment.get_payload(decode=True))
    assert failed_rules(packet, "ua1") == {}
