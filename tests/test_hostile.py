"""A hostile guide: no network request, no file outside its folder, no template evaluation."""

from __future__ import annotations

import http.server
import subprocess
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import ClassVar

import pytest
from PIL import Image
from pypdf import PdfReader

from conftest import pdftotext
from guidepdf import RenderOptions, load_guide, render_html, render_pdf

SECRET = "TOPSECRET-4242"


class Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Recorder.hits.append(self.path)
        body = b"body { color: red }" if self.path.endswith(".css") else b"GIF89a"
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def hostile(tmp_path: Path, server: str) -> Path:
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    Image.new("RGB", (77, 33), "red").save(tmp_path / "secret.png")
    folder = tmp_path / "guides"
    folder.mkdir()
    (folder / "inside.png").symlink_to(tmp_path / "secret.png")
    guide = folder / "hostile.md"
    guide.write_text(
        f"""---
company: "{{{{ 7 * 7 }}}}"
role: "<script>alert(1)</script>"
data_sources: ["{{% include '/etc/passwd' %}}"]
negotiation_dna_summary: "`<img src={server}/fm.png>`"
---
# Offer {{{{ config }}}} {{% for x in range(3) %}}loop{{% endfor %}}

<script>document.write("pwned-by-script")</script>
<style>@import url("{server}/import.css"); body {{ background: url("{server}/bg.png") }}</style>
<link rel="stylesheet" href="{server}/style.css">
<link rel="attachment" href="../secret.txt">
<link rel="attachment" href="file://{tmp_path}/secret.txt">
<img src="{server}/pixel.gif">
<img src="file://{tmp_path}/secret.png">
<img src="../secret.png">
<img src="inside.png">
<iframe src="{server}/frame"></iframe>
<object data="../secret.txt"></object>
<embed src="{server}/embed">
<svg><image href="{server}/svg.png"/><image href="../secret.png"/></svg>
<p style="background: url({server}/inline.png)" onmouseover="x()">styled</p>
<a href="javascript:alert(1)">js link</a> <a href="file://{tmp_path}/secret.txt">file link</a>

![markdown image]({server}/md.png)
![relative escape](../secret.png)

[a fine link]({server}/clicked)
""",
        encoding="utf-8",
    )
    return guide


def attachment_bytes(reader: PdfReader) -> bytes:
    return b"".join(b"".join(v) for v in reader.attachments.values())


def test_hostile_guide_renders_without_requests_or_leaks(hostile: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "hostile.pdf"
    pdf.write_bytes(render_pdf(load_guide(hostile), RenderOptions(as_of=date(2026, 11, 23))))
    assert Recorder.hits == []
    text = pdftotext(pdf)
    assert SECRET not in text and "pwned-by-script" not in text
    assert "{{ 7 * 7 }}" in text and "{{ config }}" in text and "{% for x in range(3) %}loop" in text
    assert "<script>alert(1)</script>" in text  # front-matter text is escaped, shown as written
    assert "js link" in text and "styled" in text
    listing = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    assert len([row for row in listing.splitlines()[2:] if row.strip()]) == 0, listing
    reader = PdfReader(pdf)
    assert SECRET.encode() not in attachment_bytes(reader)
    assert SECRET.encode() not in pdf.read_bytes()
    uris = [
        a.get_object()["/A"].get("/URI", "")
        for page in reader.pages
        for a in page.get("/Annots", [])
        if "/A" in a.get_object()
    ]
    assert all(uri.startswith("http") for uri in uris)


def test_self_contained_html_has_no_leaks(hostile: Path) -> None:
    html = render_html(load_guide(hostile), RenderOptions(as_of=date(2026, 11, 23)))
    assert Recorder.hits == []
    assert SECRET not in html
    assert "<script" not in html and "<iframe" not in html and "onmouseover" not in html
    assert "file://" not in html


def test_network_is_used_only_when_allowed(hostile: Path, tmp_path: Path) -> None:
    """The control: the same guide with --allow-network does reach the server."""
    render_pdf(load_guide(hostile), RenderOptions(allow_network=True))
    assert "/md.png" in Recorder.hits
    assert not any(hit in Recorder.hits for hit in ("/import.css", "/style.css", "/frame", "/svg.png"))
