"""Limits: oversized files, runaway page counts and image decompression bombs are refused, clearly."""

from __future__ import annotations

import base64
import functools
import http.server
import io
import shutil
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from conftest import SEEDS, pdftotext
from guidepdf import GuideError, RenderError, RenderOptions, load_guide, parse_guide, render_html
from guidepdf.brief import render_brief
from guidepdf.cli import main
from guidepdf.guide import MAX_BYTES
from guidepdf.images import MAX_PIXELS, declared_pixels, oversize_reason
from guidepdf.options import DEFAULT_MAX_PAGES

AS_OF = date(2026, 11, 23)
CHART = SEEDS / "images" / "northwind-comp-bands.png"


def image_count(pdf: Path | bytes) -> int:
    reader = PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf)
    return sum(len(page.images) for page in reader.pages)


@pytest.fixture(scope="module")
def bomb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A guide showing a real chart and a 20000×20000 1-bit PNG (tens of KB on disk, 400 megapixels)."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("bomb")
    Image.new("1", (20000, 20000)).save(folder / "bomb.png", optimize=True)
    shutil.copy(CHART, folder / "chart.png")
    (folder / "bomb.md").write_text(
        "---\ncompany: acme\nrole: engineer\n---\n# Acme\n\n"
        "![chart](chart.png)\n\nBefore the bomb.\n\n![bomb](bomb.png)\n\nAfter the bomb.\n",
        encoding="utf-8",
    )
    return folder


# --- size -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def huge_guide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("huge") / "huge.md"
    line = "A paragraph of a guide that goes on and on without end. " * 4 + "\n\n"
    path.write_text("---\ncompany: acme\n---\n" + line * (6_000_000 // len(line) + 1), encoding="utf-8")
    assert path.stat().st_size > 6_000_000
    return path


def test_oversized_file_is_refused(huge_guide: Path) -> None:
    with pytest.raises(GuideError, match=r"over the 5,000,000-byte limit") as caught:
        load_guide(huge_guide)
    assert caught.value.path == str(huge_guide)
    with pytest.raises(GuideError, match="over the"):
        parse_guide(huge_guide.read_bytes(), huge_guide)
    assert MAX_BYTES == 5_000_000


def test_oversized_file_in_a_batch_is_one_error_line(huge_guide: Path, tmp_path: Path) -> None:
    shutil.copy(huge_guide, tmp_path / "huge.md")
    shutil.copy(SEEDS / "kaiyo-logistics-platform-engineer.md", tmp_path / "kaiyo.md")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", str(tmp_path), "-o", str(out), "--format", "html"])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {tmp_path / 'huge.md'}: file is {(tmp_path / 'huge.md').stat().st_size:,} "
        "bytes, over the 5,000,000-byte limit"
    ]
    assert [p.name for p in out.glob("*.html")] == ["kaiyo-logistics-platform-engineer.html"]
    checked = CliRunner().invoke(main, ["check", str(tmp_path / "huge.md")])
    assert checked.exit_code == 1 and "error: file is" in checked.stdout and "Traceback" not in checked.output


# --- pages ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_guide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "long.md"
    paragraphs = (f"Paragraph {i}: " + "negotiate the offer " * 40 for i in range(60))
    path.write_text("# A very long guide\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def test_default_page_cap() -> None:
    assert RenderOptions().max_pages == DEFAULT_MAX_PAGES == 200
    with pytest.raises(Exception, match="--max-pages"):
        RenderOptions(max_pages=-1)


def test_page_cap_fails_after_layout(long_guide: Path) -> None:
    guide = load_guide(long_guide)
    options = RenderOptions(as_of=AS_OF, max_pages=3, attach_sources=False)
    with pytest.raises(RenderError) as caught:
        render_brief(guide, options)
    message = str(caught.value)
    assert message.startswith(f"{long_guide}: lays out to ")
    pages = int(message.split("lays out to ")[1].split()[0])
    assert pages > 3 and "over the limit of 3 (--max-pages)" in message
    # The same guide under a cap it fits renders every page it reported.
    rendered = render_brief(guide, RenderOptions(as_of=AS_OF, max_pages=pages, attach_sources=False))
    assert rendered.pages == pages == len(PdfReader(io.BytesIO(rendered.pdf)).pages)


def test_page_cap_in_a_batch(long_guide: Path, tmp_path: Path) -> None:
    folder = tmp_path / "guides"
    folder.mkdir()
    shutil.copy(long_guide, folder / "long.md")
    shutil.copy(SEEDS / "saffron-health-data-engineer.md", folder / "saffron.md")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["render", str(folder), "-o", str(out), "--max-pages", "4", "--as-of", "2026-11-23"]
    )
    assert result.exit_code == 1
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: {folder / 'long.md'}: lays out to ") and "--max-pages" in error
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".pdf") == ["saffron-health-data-engineer.pdf"]
    assert not (out / "long.pdf").exists()


# --- decompression bombs ----------------------------------------------------------------------


def test_declared_pixels_reads_only_the_header(bomb_folder: Path) -> None:
    data = (bomb_folder / "bomb.png").read_bytes()
    assert len(data) < 100_000
    assert declared_pixels(data) == 400_000_000
    assert oversize_reason(data) == "image declares 400,000,000 pixels, over the 40,000,000-pixel limit"
    assert declared_pixels(CHART.read_bytes()) < MAX_PIXELS
    assert oversize_reason(CHART.read_bytes()) is None
    assert declared_pixels(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    assert declared_pixels(b"\x89PNG\r\n\x1a\n garbage") is None


def test_bomb_is_refused_in_pdf(bomb_folder: Path, tmp_path: Path) -> None:
    rendered = render_brief(load_guide(bomb_folder / "bomb.md"), RenderOptions(as_of=AS_OF))
    [refusal] = rendered.refused
    assert refusal.startswith((bomb_folder / "bomb.png").as_uri())
    assert "refused: image declares 400,000,000 pixels, over the 40,000,000-pixel limit" in refusal
    pdf = tmp_path / "bomb.pdf"
    pdf.write_bytes(rendered.pdf)
    assert image_count(pdf) == 1, "the chart is still there, the bomb is not"
    text = pdftotext(pdf)
    assert "Before the bomb." in text and "After the bomb." in text


def test_bomb_is_refused_in_html(bomb_folder: Path) -> None:
    page = render_html(load_guide(bomb_folder / "bomb.md"), RenderOptions(as_of=AS_OF))
    assert page.count("data:image/png;base64,") == 1, "the chart is inlined, the bomb is not"
    assert "bomb.png" not in page


def test_bomb_through_the_cli_is_a_warning(bomb_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "bomb.pdf"
    result = CliRunner().invoke(main, ["render", str(bomb_folder / "bomb.md"), "-o", str(out)])
    assert result.exit_code == 0 and out.exists()
    assert f"warning: {bomb_folder / 'bomb.md'}: not fetched: " in result.stderr
    assert "over the 40,000,000-pixel limit" in result.stderr


def test_bomb_in_a_user_stylesheet_is_refused(bomb_folder: Path, tmp_path: Path) -> None:
    style = tmp_path / "style" / "bomb.css"
    style.parent.mkdir()
    shutil.copy(bomb_folder / "bomb.png", style.parent / "bomb.png")
    style.write_text("body { background-image: url(bomb.png); }\n", encoding="utf-8")
    guide = load_guide(SEEDS / "kaiyo-logistics-platform-engineer.md")
    rendered = render_brief(guide, RenderOptions(as_of=AS_OF, styles=(style,), attach_sources=False))
    assert image_count(rendered.pdf) == 0
    assert [url.split(" ", 1)[0] for url in rendered.refused] == [(style.parent / "bomb.png").as_uri()]


# --- pathological layouts -------------------------------------------------------------------


@pytest.mark.slow
def test_pathological_guides_are_stopped_and_the_batch_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "guides"
    folder.mkdir()
    shutil.copy(SEEDS / "saffron-health-data-engineer.md", folder / "saffron.md")
    header = "| " + " | ".join(f"h{c}" for c in range(50)) + " |\n|" + "---|" * 50 + "\n"
    rows = "".join("| " + " | ".join(f"r{r}c{c}" for c in range(50)) + " |\n" for r in range(1000))
    (folder / "table.md").write_text("# 50,000 cells\n\n" + header + rows, encoding="utf-8")
    nested = "".join("  " * i + f"- level {i}\n" for i in range(400))
    (folder / "nested.md").write_text("# Nested lists\n\n" + nested, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["render", str(folder), "-o", str(out), "--jobs", "2", "--timeout", "4", "--as-of", "2026-11-23"],
    )
    assert result.exit_code == 1
    errors = sorted(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert len(errors) == 2, result.stderr
    assert errors[0].startswith(f"error: {folder / 'nested.md'}: ")
    assert errors[1] == f"error: {folder / 'table.md'}: stopped after 4 s (--timeout)"
    assert "Traceback" not in result.output
    assert sorted(p.name for p in out.glob("*.pdf")) == ["saffron-health-data-engineer.pdf"]


def test_lists_nested_past_the_recursion_limit_fail_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.md"
    path.write_text("# Deep\n\n" + "".join("  " * i + "- x\n" for i in range(520)), encoding="utf-8")
    with pytest.raises(RenderError, match=r"nests too deeply"):
        render_html(load_guide(path), RenderOptions(as_of=AS_OF))
    result = CliRunner().invoke(
        main, ["render", str(path), "-o", str(tmp_path / "deep.html"), "--format", "html"]
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit | None)
    assert f"error: {path}: the Markdown body nests too deeply to convert" in result.stderr.splitlines()
    assert not (tmp_path / "deep.html").exists()


@pytest.fixture
def image_server(bomb_folder: Path) -> Iterator[str]:
    """A loopback HTTP server for the bomb folder's files."""
    handler = functools.partial(_QuietHandler, directory=str(bomb_folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_bomb_over_http_is_refused_and_a_fine_image_still_arrives(image_server: str, tmp_path: Path) -> None:
    guide = tmp_path / "remote.md"
    guide.write_text(
        f"# Remote\n\n![chart]({image_server}/chart.png)\n\n![bomb]({image_server}/bomb.png)\n",
        encoding="utf-8",
    )
    options = RenderOptions(as_of=AS_OF, allow_network=True, attach_sources=False)
    rendered = render_brief(load_guide(guide), options)
    [refusal] = rendered.refused
    assert refusal.startswith(f"{image_server}/bomb.png (refused: image declares 400,000,000 pixels")
    assert image_count(rendered.pdf) == 1, "the chart came over HTTP and is in the PDF"


def test_bomb_as_a_data_uri_in_a_stylesheet_is_refused(bomb_folder: Path, tmp_path: Path) -> None:
    encoded = base64.b64encode((bomb_folder / "bomb.png").read_bytes()).decode("ascii")
    style = tmp_path / "data.css"
    style.write_text(
        f'body {{ background-image: url("data:image/png;base64,{encoded}"); }}\n', encoding="utf-8"
    )
    guide = load_guide(SEEDS / "kaiyo-logistics-platform-engineer.md")
    rendered = render_brief(guide, RenderOptions(as_of=AS_OF, styles=(style,), attach_sources=False))
    assert image_count(rendered.pdf) == 0
    [refusal] = rendered.refused
    assert refusal.startswith("data:image/png;base64,") and len(refusal) < 200
    assert refusal.endswith("(refused: image declares 400,000,000 pixels, over the 40,000,000-pixel limit)")
