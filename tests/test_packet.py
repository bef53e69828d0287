"""Packets read back: contents page numbers, links, bookmarks, footers and page labels all agree; the
structure tree covers every page in order; and a packet after a batch reuses the batch's briefs."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from pypdf.generic import ArrayObject, ContentStream, DictionaryObject

from conftest import SEEDS, pdfinfo, pdftotext
from guidepdf import RenderOptions, load_guide
from guidepdf.batch import render_batch
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
def batch(guides: Path) -> Path:
    """The guides rendered as a batch, as `guidepdf render guides -o out` does."""
    out = guides.parent / "out"
    result = render_batch(sorted(guides.glob("*.md")), out, RenderOptions(as_of=AS_OF), jobs=2)
    assert result.count("rendered") == len(NAMES), result.failed
    return out


@pytest.fixture(scope="module")
def packet(guides: Path, batch: Path) -> Path:
    """A packet built beside the batch's output: every part is one of the batch's briefs."""
    pdf = batch / "packet.pdf"
    statuses: list[str] = []
    result = make_packet(
        sorted(guides.glob("*.md")),
        RenderOptions(as_of=AS_OF),
        title="Q4 offers",
        jobs=2,
        cache_dir=batch / CACHE_DIR,
        batch_dir=batch,
        progress=lambda item: statuses.append(item.status),
    )
    assert not result.failed
    assert sorted(result.reused) == sorted(str(guides / n) for n in NAMES)
    assert statuses == ["skipped"] * len(NAMES)  # nothing was rendered again
    assert not (batch / CACHE_DIR).exists()  # and nothing copied: the batch's files are the parts
    pdf.write_bytes(result.pdf or b"")
    return pdf


def page_text(pdf: Path, index: int) -> str:
    """Text of the page at 0-based `index`."""
    return pdftotext_range(pdf, index + 1, index + 1)


def pdftotext_range(pdf: Path, first: int, last: int) -> str:
    import subprocess

    args = ["pdftotext", "-enc", "UTF-8", "-f", str(first), "-l", str(last), str(pdf), "-"]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


FRONT = 1  # four guides: the contents table (also the overview) sits on the cover, under its facts
FRONT_MARKS = ["Cover", "Contents"]


def contents(pdf: Path) -> list[tuple[str, str]]:
    """(title, page label) pairs in the contents' order, as its links announce them ("Title, page N"),
    each checked against the company and page number the contents page prints."""
    reader = PdfReader(pdf)
    found: list[tuple[str, str]] = []
    for page in reader.pages[:FRONT]:
        for ref in page.get("/Annots") or []:
            spoken = str(ref.get_object().get("/Contents", ""))
            match = re.fullmatch(r"(.+), page (\d+)", spoken)
            if match and match.groups() not in found:
                found.append((match[1], match[2]))
    args = ["pdftotext", "-layout", "-enc", "UTF-8", "-f", "1", "-l", str(FRONT), str(pdf), "-"]
    rows = subprocess.run(args, check=True, capture_output=True, text=True).stdout.splitlines()
    for title, number in found:  # the row that starts with the guide's company ends with its page
        company = title.split(" — ")[0]
        assert any(r.strip().startswith(company) and r.split()[-1] == number for r in rows), (title, number)
    return found


def guide_marks(reader: PdfReader) -> list:
    """The top-level bookmarks of the guides: after the front matter's (the cover, the contents)."""
    top = [item for item in reader.outline if not isinstance(item, list)]
    assert [item.title for item in top[: len(FRONT_MARKS)]] == FRONT_MARKS
    return top[len(FRONT_MARKS) :]


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
        # and it starts there, carrying the packet's page number: the only page counter on it
        counters = re.findall(r"Page (\d+) of (\d+)", page_text(packet, index))
        assert counters == [(label, str(len(labels) - FRONT))]


def test_page_labels_match_the_footers(packet: Path) -> None:
    reader = PdfReader(packet)
    labels = reader.page_labels
    assert labels[:FRONT] == ["i"]
    guide_pages = len(labels) - FRONT
    assert labels[FRONT:] == [str(n) for n in range(1, guide_pages + 1)]
    for index in range(FRONT, len(labels)):
        # one page counter a page: the packet's, where the brief's own "Page X of Y" was
        footer = re.findall(r"Page (\d+) of (\d+)", page_text(packet, index))
        assert footer == [(labels[index], str(guide_pages))], f"page {index}"
    assert "Packet page" not in pdftotext(packet)
    assert pdftotext(packet).count("Page 1 of") == 1
    # the cover, which holds the contents here, carries no page counter
    assert "Page" not in page_text(packet, 0)


def test_contents_and_overview_links_go_to_each_guide(packet: Path) -> None:
    reader = PdfReader(packet)
    labels = reader.page_labels
    starts = {title: labels.index(label) for title, label in contents(packet)}
    for front in range(FRONT):  # the contents, which is also the overview, on the cover
        targets = []
        for ref in reader.pages[front].get("/Annots") or []:
            annot = ref.get_object()
            assert "/A" not in annot or annot["/A"].get("/URI", "").startswith("http"), annot
            if "/Dest" in annot:
                targets.append(reader.get_page_number(annot["/Dest"][0].get_object()))
        assert sorted(set(targets)) == sorted(starts.values())


def test_bookmarks_front_matter_then_one_per_guide_with_sections(packet: Path) -> None:
    reader = PdfReader(packet)
    outline = reader.outline
    top = guide_marks(reader)
    front = [item for item in outline if not isinstance(item, list)][: len(FRONT_MARKS)]
    assert [reader.get_destination_page_number(item) for item in front] == [0, 0]  # both on the cover
    assert not isinstance(outline[outline.index(front[-1]) + 1], list)  # no children
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
            assert child["/Type"] == "/XYZ" and child.top is not None  # at the heading, not the page top
            words = child.title.split()[:2]
            assert all(w in page_text(packet, page) for w in words), child.title


def test_overview_compares_the_guides(packet: Path) -> None:
    # One contents table is also the overview; with four guides it sits on the cover.
    overview = page_text(packet, 0)
    assert "Contents" in overview and "Overview" not in pdftotext(packet)
    for needle in ("Company", "Role", "Total compensation", "Data quality", "Review", "Page"):
        assert needle.upper() in overview, needle
    for needle in ("Ironbark Security", "Overdue since", "¥", "High", "Medium"):
        assert needle in overview, needle


def test_images_and_part_links_survive(packet: Path) -> None:
    reader = PdfReader(packet)
    assert sum(len(page.images) for page in reader.pages) >= 1
    uris = [
        ref.get_object()["/A"]["/URI"]
        for page in reader.pages[FRONT:]
        for ref in page.get("/Annots") or []
        if "/A" in ref.get_object()
    ]
    assert any(uri.startswith("https://") for uri in uris)


def test_cold_packet_renders_the_same_briefs_and_caches_them(guides: Path, packet: Path) -> None:
    # No batch beside it: the parts are rendered on the workers, and come out byte for byte the
    # batch's briefs (so the whole packet is identical), then kept in the packet cache.
    cache = guides.parent / "cold" / CACHE_DIR
    inputs, options = sorted(guides.glob("*.md")), RenderOptions(as_of=AS_OF)
    cold = make_packet(inputs, options, title="Q4 offers", jobs=2, cache_dir=cache)
    assert cold.reused == () and not cold.failed
    assert cold.pdf == packet.read_bytes()
    assert len(list(cache.glob("*.pdf"))) == len(NAMES)
    again = make_packet(inputs, options, title="Q4 offers", jobs=2, cache_dir=cache)
    assert len(again.reused) == len(NAMES)
    assert again.pdf == packet.read_bytes()


def test_packet_pages_are_the_briefs_pages(batch: Path, packet: Path) -> None:
    reader = PdfReader(packet)
    starts = {item.title: reader.get_destination_page_number(item) for item in guide_marks(reader)}
    total = len(reader.pages) - FRONT
    for name in NAMES:
        brief = batch / name.replace(".md", ".pdf")
        start = starts[load_guide(SEEDS / name).title]
        for index in range(len(PdfReader(brief).pages)):
            own = " ".join(pdftotext_range(brief, index + 1, index + 1).split())
            joined = " ".join(page_text(packet, start + index).split())
            # the same text, but for the page counter: the packet's page number instead of the brief's
            mine = f"Page {start + index - FRONT + 1} of {total}"
            assert joined == own.replace(f"Page {index + 1} of {len(PdfReader(brief).pages)}", mine)
            assert joined.count("Page ") == own.count("Page "), (name, index)


def test_cli_packet_after_render_renders_nothing(guides: Path, batch: Path, packet: Path) -> None:
    manifest = (batch / "manifest.json").read_bytes()
    out = batch / "cli-packet.pdf"
    args = [
        "packet",
        str(guides),
        "-o",
        str(out),
        "--as-of",
        "2026-11-23",
        "--jobs",
        "2",
        "--title",
        "Q4 offers",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == packet.read_bytes()
    # a rendered part would have been kept in the packet cache; the batch's files are as they were
    assert not (batch / CACHE_DIR).exists()
    assert (batch / "manifest.json").read_bytes() == manifest


def test_a_changed_batch_output_is_not_reused(guides: Path, batch: Path, tmp_path: Path) -> None:
    # Two guides: the packet renders in this process, so this stays quick.
    out = tmp_path / "out"
    shutil.copytree(batch, out, ignore=shutil.ignore_patterns("packet.pdf", ".*"))
    damaged = out / NAMES[1].replace(".md", ".pdf")
    damaged.write_bytes(damaged.read_bytes() + b"\n% edited\n")
    chosen = [guides / NAMES[0], guides / NAMES[1]]
    result = make_packet(chosen, RenderOptions(as_of=AS_OF), cache_dir=out / CACHE_DIR, batch_dir=out)
    assert result.reused == (str(guides / NAMES[0]),)
    assert not result.failed and result.pdf


def test_a_damaged_cache_file_is_rendered_again(guides: Path, tmp_path: Path) -> None:
    cache, options = tmp_path / CACHE_DIR, RenderOptions(as_of=AS_OF)
    chosen = [guides / NAMES[0], guides / NAMES[2]]
    first = make_packet(chosen, options, cache_dir=cache)
    cached = sorted(cache.glob("*.pdf"))
    assert len(cached) == 2
    cached[0].write_bytes(cached[0].read_bytes()[:-2000])  # cut short, as by a full disk
    again = make_packet(chosen, options, cache_dir=cache)
    assert len(again.reused) == 1 and not again.failed
    assert again.pdf == first.pdf


def test_packet_is_about_the_size_of_its_parts(batch: Path, packet: Path) -> None:
    # Pages are copied, not re-encoded: the packet adds its front matter and little else.
    parts = sum((batch / name.replace(".md", ".pdf")).stat().st_size for name in NAMES)
    assert packet.stat().st_size < 1.1 * parts


# -- the structure tree ------------------------------------------------------------------------------


def _kids(element: DictionaryObject) -> list[object]:
    kids = element.get("/K")
    if kids is None:
        return []
    return [k.get_object() for k in (kids if isinstance(kids, ArrayObject) else [kids])]


def _walk(element: DictionaryObject, found: list[DictionaryObject]) -> None:
    """Struct elements depth first, in reading order."""
    found.append(element)
    for kid in _kids(element):
        if (
            isinstance(kid, DictionaryObject)
            and kid.get("/Type", "/StructElem") == "/StructElem"
            and "/S" in kid
        ):
            _walk(kid, found)


def _content_pages(reader: PdfReader, element: DictionaryObject) -> list[int]:
    """Pages of the marked content and annotations directly under `element`, in order."""
    pages = []
    own = element.get("/Pg")
    for kid in _kids(element):
        if isinstance(kid, int) and own is not None:
            pages.append(reader.get_page_number(own.get_object()))
        elif isinstance(kid, DictionaryObject) and kid.get("/Type") in ("/MCR", "/OBJR"):
            page = kid.get("/Pg", own)
            pages.append(reader.get_page_number(page.get_object()))
    return pages


@pytest.fixture(scope="module")
def structure(packet: Path) -> tuple[PdfReader, list[DictionaryObject]]:
    reader = PdfReader(packet)
    root = reader.root_object["/StructTreeRoot"].get_object()
    elements: list[DictionaryObject] = []
    for top in _kids(root):
        assert isinstance(top, DictionaryObject)
        _walk(top, elements)
    return reader, elements


def test_packet_is_a_valid_tagged_pdf_with_a_language(packet: Path) -> None:
    assert pdfinfo(packet)["Tagged"] == "yes"
    check = subprocess.run(["qpdf", "--check", str(packet)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    catalog = PdfReader(packet).root_object
    assert catalog["/Lang"] == "en"
    assert catalog["/MarkInfo"]["/Marked"]
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"]


def test_one_document_with_a_part_per_source(structure: tuple[PdfReader, list[DictionaryObject]]) -> None:
    _, elements = structure
    document = elements[0]
    assert document["/S"] == "/Document"
    parts = [kid for kid in _kids(document) if isinstance(kid, DictionaryObject)]
    assert [p["/S"] for p in parts] == ["/Part"] * (1 + len(NAMES))  # front matter, then each guide
    for part in parts:
        assert part.raw_get("/P").idnum == document.indirect_reference.idnum
    for element in elements[1:]:  # every element's parent is inside the tree, not a part's old root
        assert element["/P"].get_object().get("/Type") == "/StructElem"


def test_every_page_is_in_the_tree_in_page_order(structure: tuple[PdfReader, list[DictionaryObject]]) -> None:
    reader, elements = structure
    order = [page for element in elements for page in _content_pages(reader, element)]
    assert set(order) == set(range(len(reader.pages)))
    assert order == sorted(order), "reading order jumps back a page"


def test_each_guide_title_is_an_h1_on_its_first_page(
    packet: Path, structure: tuple[PdfReader, list[DictionaryObject]]
) -> None:
    reader, elements = structure
    h1_pages = [
        reader.get_page_number(e["/Pg"].get_object()) for e in elements if e["/S"] == "/H1" and "/Pg" in e
    ]
    starts = [reader.get_destination_page_number(item) for item in guide_marks(reader)]
    assert len(starts) == len(NAMES)
    assert h1_pages == [0, *starts]  # the packet's title on the cover, then one per guide
    for start in starts:
        assert any(load_guide(SEEDS / n).title in page_text(packet, start) for n in NAMES)


def test_parent_tree_maps_every_page_and_link(structure: tuple[PdfReader, list[DictionaryObject]]) -> None:
    reader, elements = structure
    root = reader.root_object["/StructTreeRoot"]
    nums = root["/ParentTree"]["/Nums"]
    keys = [int(k) for k in nums[::2]]
    assert keys == sorted(set(keys)) and root["/ParentTreeNextKey"] > keys[-1]
    tree = dict(zip(keys, nums[1::2], strict=True))
    links = 0
    for index, page in enumerate(reader.pages):
        mcids = [int(m) for m in re.findall(rb"/MCID (\d+)", page.get_contents().get_data())]
        assert mcids, f"page {index} has no tagged content"
        marked = tree[int(page["/StructParents"])].get_object()
        assert len(marked) > max(mcids)
        for mcid in set(mcids):
            owner = marked[mcid].get_object()
            assert reader.get_page_number(owner["/Pg"].get_object()) == index, (index, mcid)
        for ref in page.get("/Annots") or []:
            annot = ref.get_object()
            owner = tree[int(annot["/StructParent"])].get_object()
            objrs = [k for k in _kids(owner) if isinstance(k, DictionaryObject) and k.get("/Type") == "/OBJR"]
            assert any(o.raw_get("/Obj").idnum == ref.idnum for o in objrs), (index, annot.get("/Subtype"))
            links += 1
    assert links >= 10  # contents, overview and the guides' own links
    for element in elements:  # and no link element points at an annotation left off its page
        for kid in _kids(element):
            if isinstance(kid, DictionaryObject) and kid.get("/Type") == "/OBJR":
                page = (kid.get("/Pg") or element["/Pg"]).get_object()
                assert kid.raw_get("/Obj").idnum in [a.idnum for a in page.get("/Annots") or []]


def test_no_text_outside_marked_content(packet: Path) -> None:
    # The stamped packet page numbers are an artifact; every other glyph belongs to the tree.
    reader = PdfReader(packet)
    for index, page in enumerate(reader.pages):
        depth = 0
        for _, operator in ContentStream(page.get_contents(), reader).operations:
            if operator in (b"BDC", b"BMC"):
                depth += 1
            elif operator == b"EMC":
                depth -= 1
            elif operator in (b"Tj", b"TJ", b"'", b'"', b"Do"):
                assert depth > 0, f"untagged content on page {index}"
        assert depth == 0


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
    return contents(pdf)


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


def test_archival_variants_are_kept_by_packets(guides: Path, tmp_path: Path) -> None:
    """Packets honour --pdf-variant (test_conformance.py has the validator check the result)."""
    out = tmp_path / "p.pdf"
    args = ["packet", str(guides), "-o", str(out), "--pdf-variant", "pdf/a-3b"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    metadata = PdfReader(out).trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in metadata and 'pdfaid:conformance="B"' in metadata


def test_grouped_packets_are_joined_and_handed_over_a_few_groups_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Front matter is rendered for a few groups, their packets joined and handed over, then the next
    few: memory never holds every group's pages at once."""
    from guidepdf.packet import make as make_module
    from guidepdf.packet import make_grouped_packets

    events: list[str] = []
    front_matter_html = make_module.front_matter_html

    def noted(title: str, *args: object, **kwargs: object) -> str:
        events.append(f"front {title.rsplit(': ', 1)[-1]}")
        return front_matter_html(title, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(make_module, "front_matter_html", noted)
    monkeypatch.setattr(make_module, "GROUPS_AT_ONCE", 2)
    names = sorted(SEEDS.glob("*.md"))[:5]
    written: list[Path] = []

    def write(path: Path, result: object) -> None:
        events.append(f"packet {path.stem}")
        written.append(path)

    made, failed = make_grouped_packets(
        names, "company", tmp_path, RenderOptions(as_of=AS_OF), write=write, jobs=2
    )
    assert not failed and len(made) == 5 and len(written) == 5
    fronts = [i for i, event in enumerate(events) if event.startswith("front")]
    packets = [i for i, event in enumerate(events) if event.startswith("packet")]
    # The first two packets are out before the third group's front matter is made.
    assert packets[1] < fronts[2] and packets[3] < fronts[4]
    assert all(result.pdf is None for _, result in made)  # handed over, then let go
