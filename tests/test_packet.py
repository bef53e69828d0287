"""Packets read back: contents page numbers, links, bookmarks, footers and page labels all agree."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from conftest import SEEDS, pdfinfo, pdftotext
from guidepdf import RenderOptions, build_packet, load_guide
from guidepdf.cli import main
from guidepdf.packet import CACHE_DIR, make_packet

pytestmark = pytest.mark.slow

NAMES = (
    "aurelian-systems-engineering-manager.md",  # several pages, many sections
    "northwind-robotics-software-engineer.md",  # an image
    "ironbark-security-security-engineer.md",  # overdue review as of the date below
    "kaiyo-logistics-platform-engineer.md",  # JPY figures
)
AS_OF = date(2026, 11, 23)


@pytest.fixture(scope="module")
def guides(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("packet") / "guides"
    folder.mkdir()
    for name in NAMES:
        shutil.copy(SEEDS / name, folder / name)
    shutil.copytree(SEEDS / "images", folder / "images")
    return folder


@pytest.fixture(scope="module")
def packet(guides: Path) -> Path:
    pdf = guides.parent / "packet.pdf"
    result = make_packet(
        sorted(guides.glob("*.md")),
        RenderOptions(as_of=AS_OF),
        title="Q4 offers",
        jobs=2,
        cache_dir=guides.parent / CACHE_DIR,
    )
    assert not result.failed
    pdf.write_bytes(result.pdf or b"")
    return pdf


def page_text(pdf: Path, index: int) -> str:
    """Text of the page at 0-based `index`."""
    return pdftotext_range(pdf, index + 1, index + 1)


def pdftotext_range(pdf: Path, first: int, last: int) -> str:
    import subprocess

    args = ["pdftotext", "-enc", "UTF-8", "-f", str(first), "-l", str(last), str(pdf), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def contents(pdf: Path) -> list[tuple[str, str]]:
    """(title, page label) pairs as the contents page prints them."""
    text = pdftotext_range(pdf, 2, 2)
    titles = [load_guide(SEEDS / name).title for name in NAMES]
    found = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for title in titles:
        index = lines.index(title)
        number = next(line for line in lines[index + 1 :] if re.fullmatch(r"\d+", line))
        found.append((title, number))
    return found


def test_cover_names_title_date_and_count(packet: Path) -> None:
    cover = page_text(packet, 0)
    assert "Q4 offers" in cover
    assert "4 guides" in cover
    assert "23 Nov 2026" in cover
    assert pdfinfo(packet)["Title"] == "Q4 offers"


def test_contents_page_numbers_are_true(packet: Path) -> None:
    reader = PdfReader(packet)
    labels = reader.page_labels
    listed = contents(packet)
    assert len(listed) == len(NAMES)
    for title, label in listed:
        index = labels.index(label)
        assert title in page_text(packet, index), f"{title} is not on page {label}"
        # and it starts there: the page before belongs to something else
        assert f"Page {label} of" in page_text(packet, index)


def test_page_labels_match_the_footers(packet: Path) -> None:
    reader = PdfReader(packet)
    labels = reader.page_labels
    assert labels[:3] == ["i", "ii", "iii"]
    guide_pages = len(labels) - 3
    assert labels[3:] == [str(n) for n in range(1, guide_pages + 1)]
    for index in range(3, len(labels)):
        footer = re.findall(r"Page (\d+) of (\d+)", page_text(packet, index))
        assert footer == [(labels[index], str(guide_pages))], f"page {index}"
    # the guides' own numbering is gone: no second "Page 1 of" on a guide's first page
    assert pdftotext(packet).count("Page 1 of") == 1


def test_contents_and_overview_links_go_to_each_guide(packet: Path) -> None:
    reader = PdfReader(packet)
    labels = reader.page_labels
    starts = {title: labels.index(label) for title, label in contents(packet)}
    for front in (1, 2):  # contents and overview
        targets = []
        for ref in reader.pages[front].get("/Annots") or []:
            annot = ref.get_object()
            assert "/A" not in annot or annot["/A"].get("/URI", "").startswith("http"), annot
            if "/Dest" in annot:
                targets.append(reader.get_page_number(annot["/Dest"][0].get_object()))
        assert sorted(set(targets)) == sorted(starts.values())


def test_bookmarks_one_per_guide_with_sections(packet: Path) -> None:
    reader = PdfReader(packet)
    outline = reader.outline
    top = [item for item in outline if not isinstance(item, list)]
    titles = [load_guide(SEEDS / name).title for name in sorted(NAMES)]
    assert [item.title for item in top] == titles
    starts = [reader.get_destination_page_number(item) for item in top]
    assert starts == sorted(starts)
    ends = [*starts[1:], len(reader.pages)]
    for i, item in enumerate(top):
        assert item.title in page_text(packet, starts[i])
        children = outline[outline.index(item) + 1]
        assert isinstance(children, list) and len(children) >= 3
        for child in (c for c in children if not isinstance(c, list)):
            page = reader.get_destination_page_number(child)
            assert starts[i] <= page < ends[i]
            words = child.title.split()[:2]
            assert all(w in page_text(packet, page) for w in words), child.title


def test_overview_compares_the_guides(packet: Path) -> None:
    overview = page_text(packet, 2)
    assert "Overview" in overview
    for needle in ("Ironbark Security", "Overdue since", "¥", "High", "Medium"):
        assert needle in overview, needle


def test_images_and_part_links_survive(packet: Path) -> None:
    reader = PdfReader(packet)
    assert sum(len(page.images) for page in reader.pages) >= 1
    uris = [
        ref.get_object()["/A"]["/URI"]
        for page in reader.pages[3:]
        for ref in page.get("/Annots") or []
        if "/A" in ref.get_object()
    ]
    assert any(uri.startswith("https://") for uri in uris)


def test_rebuild_is_byte_identical_from_the_cache(guides: Path, packet: Path) -> None:
    cached = list((guides.parent / CACHE_DIR).glob("*.pdf"))
    assert len(cached) == len(NAMES), sorted(p.name for p in cached)
    again = build_packet(
        sorted(guides.glob("*.md")),
        RenderOptions(as_of=AS_OF),
        title="Q4 offers",
        jobs=2,
        cache_dir=guides.parent / CACHE_DIR,
    )
    assert again == packet.read_bytes(), (len(again), packet.stat().st_size)


def test_cli_sort_and_group_by(guides: Path, packet: Path) -> None:
    # Outputs beside the module's packet share its part cache: nothing is rendered twice.
    out = guides.parent / "sorted.pdf"
    runner = CliRunner()
    args = ["--as-of", "2026-11-23", "--jobs", "2"]
    result = runner.invoke(main, ["packet", str(guides), "-o", str(out), "--sort", "-company", *args])
    assert result.exit_code == 0, result.output
    order = [title for title, _ in contents_sorted(out)]
    assert order == sorted(order, reverse=True)

    folder = guides.parent
    result = runner.invoke(
        main, ["packet", str(guides), "-o", str(folder), "--group-by", "data_quality", *args]
    )
    assert result.exit_code == 0, result.output
    qualities = sorted({load_guide(guides / n).data_quality or "" for n in NAMES})
    assert len(qualities) >= 2
    for quality in qualities:
        pdf = folder / f"{quality}.pdf"
        expected = [n for n in NAMES if load_guide(guides / n).data_quality == quality]
        assert f"{len(expected)} guide" in page_text(pdf, 0)
        assert quality in pdfinfo(pdf)["Title"]


def contents_sorted(pdf: Path) -> list[tuple[str, str]]:
    text = pdftotext_range(pdf, 2, 2)
    titles = {load_guide(SEEDS / name).title for name in NAMES}
    return [(line.strip(), "") for line in text.splitlines() if line.strip() in titles]


def test_empty_selection_is_a_usage_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["packet", str(empty), "-o", str(tmp_path / "p.pdf")])
    assert result.exit_code == 2
    assert "no guides selected" in result.output
    assert not (tmp_path / "p.pdf").exists()


def test_a_bad_guide_is_reported_and_left_out(guides: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("---\ncompensation: 12\n---\n# Bad\n", encoding="utf-8")
    out = guides.parent / "with-bad.pdf"
    args = [str(guides / NAMES[1]), str(bad), "-o", str(out), "--as-of", "2026-11-23", "--jobs", "2"]
    result = CliRunner().invoke(main, ["packet", *args])
    assert result.exit_code == 1
    assert f"error: {bad}: line 2: compensation: expected a list of regions" in result.output
    assert "1 guide" in page_text(out, 0)


def test_archival_variants_are_refused_for_packets(guides: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.pdf"
    args = ["packet", str(guides), "-o", str(out), "--pdf-variant", "pdf/a-3b"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "cannot keep PDF/A or PDF/UA conformance" in result.output
    assert not out.exists()
