"""The pixel limit applies by content, whatever an image is called; sizes are judged by bounded reads."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from guidepdf.images import MAX_PIXELS, declared_pixels

from .conftest import AS_OF, cli, cli_process, no_traceback, write_guide

SIDE = 20_000  # 400 megapixels, ten times the limit


def _small(fmt: str, mode: str = "RGB") -> bytearray:
    buffer = io.BytesIO()
    Image.new(mode, (1, 1)).save(buffer, fmt)
    return bytearray(buffer.getvalue())


def png_bomb(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def gif_bomb(w: int, h: int) -> bytes:
    data = _small("GIF", "L")
    data[6:10] = struct.pack("<HH", w, h)
    at = data.index(b"\x2c")
    data[at + 5 : at + 9] = struct.pack("<HH", w, h)
    return bytes(data)


def bmp_bomb(w: int, h: int) -> bytes:
    data = _small("BMP")
    data[18:26] = struct.pack("<ii", w, h)
    return bytes(data)


def jpeg_bomb(w: int, h: int) -> bytes:
    data = _small("JPEG")
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", h, w)
    return bytes(data)


def tiff_bomb(w: int, h: int) -> bytes:
    data = _small("TIFF")
    ifd = struct.unpack("<I", data[4:8])[0]
    for k in range(struct.unpack("<H", data[ifd : ifd + 2])[0]):
        entry = ifd + 2 + 12 * k
        tag = struct.unpack("<H", data[entry : entry + 2])[0]
        if tag in (256, 257):  # ImageWidth, ImageLength as LONG values
            data[entry + 2 : entry + 4] = struct.pack("<H", 4)
            data[entry + 8 : entry + 12] = struct.pack("<I", w if tag == 256 else h)
    return bytes(data)


def webp_bomb(w: int, h: int) -> bytes:
    data = _small("WEBP")
    at = data.index(b"\x9d\x01\x2a")  # the VP8 key-frame start code, then 14-bit width and height
    data[at + 3 : at + 7] = struct.pack("<HH", min(w, 16383), min(h, 16383))
    return bytes(data)


def svg_bomb(w: int, h: int) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"/>'.encode()
    )


BOMBS = {
    "png": png_bomb,
    "gif": gif_bomb,
    "bmp": bmp_bomb,
    "jpeg": jpeg_bomb,
    "tiff": tiff_bomb,
    "webp": webp_bomb,
    "svg": svg_bomb,
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_every_format_is_measured_from_its_header(kind: str) -> None:
    pixels = declared_pixels(BOMBS[kind](SIDE, SIDE))
    assert pixels is not None and pixels > MAX_PIXELS
    assert declared_pixels(BOMBS[kind](100, 100)) in (100 * 100, None if kind == "webp" else 100 * 100)


def test_svg_sizes_with_units_and_without() -> None:
    assert declared_pixels(b'<svg width="100in" height="100in"/>') == 9600 * 9600
    assert declared_pixels(b'<svg width="2000mm" height="10cm"/>') is not None
    assert declared_pixels(b'<svg width="1e400" height="1e400"/>') == 10**18
    assert declared_pixels(b'<svg width="100%" height="100%" viewBox="0 0 1e9 1e9"/>') is None


@pytest.fixture
def bomb_folder(tmp_path: Path) -> Path:
    """A guide showing a small real image, then a bomb of each format under misleading names."""
    folder = tmp_path / "guides"
    folder.mkdir()
    Image.new("RGB", (40, 20), "navy").save(folder / "ok.png")
    names = {
        "png": "bomb.bin",
        "gif": "bomb",
        "bmp": "bomb.svg",
        "jpeg": "bomb.txt",
        "tiff": "bomb.jpg",
        "webp": "bomb.gif",
        "svg": "bomb.png",
    }
    for kind, name in names.items():
        (folder / name).write_bytes(BOMBS[kind](SIDE, SIDE))
    images = "\n\n".join(f"![{kind}]({name})" for kind, name in names.items())
    write_guide(
        folder / "bombs.md", f"# Bombs\n\n![fine](ok.png)\n\nBefore.\n\n{images}\n\nAfter the bombs.\n"
    )
    return folder


def test_bombs_are_refused_whatever_their_names(bomb_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = cli("render", bomb_folder / "bombs.md", "-o", out, "--as-of", AS_OF)
    no_traceback(run)
    assert run.code == 0, run.stderr
    refused = [line for line in run.stderr.splitlines() if "not fetched" in line]
    for name in ("bomb.bin", "bomb", "bomb.svg", "bomb.txt", "bomb.jpg", "bomb.gif", "bomb.png"):
        [line] = [r for r in refused if f"/{name} (refused: image declares" in r]
        assert f"over the {MAX_PIXELS:,}-pixel limit" in line
    reader = PdfReader(out / "acme-engineer.pdf")
    assert sum(len(page.images) for page in reader.pages) == 1  # only ok.png
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Before." in text and "After the bombs." in text


def test_check_finds_the_bombs_by_content(bomb_folder: Path) -> None:
    run = cli("check", bomb_folder / "bombs.md", "--as-of", AS_OF)
    refused = [line for line in run.stdout.splitlines() if "pixel limit" in line]
    assert len(refused) == 7 and run.code == 1
    assert all(": body: error: image bomb" in line for line in refused)


def test_a_sparse_image_is_refused_by_a_bounded_read(tmp_path: Path) -> None:
    folder = tmp_path / "guides"
    folder.mkdir()
    with (folder / "chart.png").open("wb") as handle:
        handle.write(png_bomb(10, 10))
        handle.truncate(20_000_000_000)  # 20 GB on paper: a read without a bound would never finish
    write_guide(folder / "sparse.md", "# Sparse\n\n![chart](chart.png)\n\nStill here.\n")
    run = cli_process("render", folder, "-o", tmp_path / "out", "--as-of", AS_OF, timeout=120)
    assert run.code == 0 and "Traceback" not in run.stderr
    assert "chart.png (refused: file is 20,000,000,000 bytes, over the 100,000,000-byte limit)" in run.stderr
    assert "Still here." in "".join(
        p.extract_text() for p in PdfReader(tmp_path / "out" / "acme-engineer.pdf").pages
    )
    checked = cli_process("check", folder, timeout=60)
    assert "image chart.png: cannot read: file is 20,000,000,000 bytes" in checked.stdout
