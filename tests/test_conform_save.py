"""Writing joined files: no stream ends in a carriage return where a profile minds, and a plain file is
written once."""

from __future__ import annotations

import io
import zlib

import pikepdf
import pytest

from guidepdf import conform
from guidepdf.conform import flate, save


def cr_ending(level: int) -> bytes:
    """Some content-stream data whose Flate encoding ends in a carriage return (the checksum's last
    byte: one in 256)."""
    for n in range(10_000):
        data = f"BT /F1 9 Tf ({n} of many) Tj ET\n".encode()
        if zlib.compress(data, level).endswith(b"\r"):
            return data
    pytest.fail("no such data found")


def test_flate_pads_content_that_would_end_in_cr() -> None:
    plain = b"BT /F1 9 Tf (Page 1 of 3) Tj ET\n"
    assert not zlib.compress(plain, 6).endswith(b"\r")
    assert flate(plain, 6, padding=b"\n") == zlib.compress(plain, 6)  # untouched when it can be
    awkward = cr_ending(6)
    assert all(zlib.compress(awkward, level).endswith(b"\r") for level in range(1, 10))  # any level
    encoded = flate(awkward, 6, padding=b"\n")
    assert not encoded.endswith(b"\r") and zlib.decompress(encoded) == awkward + b"\n"


def packet_like(metadata: bool) -> pikepdf.Pdf:
    """A file with one stream whose encoded data ends in CR, as a joined packet might hold."""
    pdf = pikepdf.Pdf.new()
    pdf.add_blank_page()
    data = cr_ending(6)
    stream = pikepdf.Stream(pdf, zlib.compress(data, 6))
    stream.Filter = pikepdf.Name.FlateDecode
    pdf.pages[0].obj.Contents = pdf.make_indirect(stream)
    if metadata:
        pdf.Root.Metadata = pdf.make_indirect(pikepdf.Stream(pdf, b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"))
    return pdf


def test_a_plain_file_with_object_streams_is_written_once(monkeypatch: pytest.MonkeyPatch) -> None:
    saves = 0
    real = pikepdf.Pdf.save

    def counted(self: pikepdf.Pdf, *args: object, **kwargs: object) -> None:
        nonlocal saves
        saves += 1
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pikepdf.Pdf, "save", counted)
    with packet_like(metadata=False) as pdf:
        data = save(pdf, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    assert saves == 1
    assert conform._ends_in_cr(data)  # valid PDF; only PDF/A's and PDF/UA's EOL rule minds it


def test_a_file_claiming_conformance_has_no_stream_ending_in_cr() -> None:
    with packet_like(metadata=True) as pdf:
        data = save(pdf, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    assert not conform._ends_in_cr(data)
    with pikepdf.open(io.BytesIO(data)) as again:
        assert again.pages[0].Contents.read_bytes() == cr_ending(6)
