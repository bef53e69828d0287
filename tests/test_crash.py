"""Crash safety: a batch killed with SIGKILL leaves only complete files under final names, and the
next run completes the set."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from conftest import SEEDS
from guidepdf.cli import main

pytestmark = pytest.mark.slow

GUIDEPDF = str(Path(sys.executable).parent / "guidepdf")
GUIDES = sorted(SEEDS.glob("*.md"))


def qpdf_ok(path: Path) -> bool:
    return subprocess.run(["qpdf", "--check", str(path)], capture_output=True).returncode == 0


def assert_only_complete_outputs(out: Path) -> list[Path]:
    """Every non-hidden file is a whole PDF or a readable manifest; temporary files stay hidden `.part`s."""
    pdfs = []
    for path in sorted(out.iterdir()):
        if path.name.startswith("."):
            assert path.name.endswith(".part"), f"unexpected hidden file {path.name}"
            continue
        if path.name == "manifest.json":
            json.loads(path.read_text(encoding="utf-8"))
            continue
        assert path.suffix == ".pdf", f"unexpected file {path.name}"
        assert qpdf_ok(path), f"{path.name} is not a valid PDF"
        assert len(PdfReader(path).pages) >= 1
        pdfs.append(path)
    return pdfs


def start_batch(folder: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [GUIDEPDF, "render", str(folder), "-o", str(out), "--jobs", "2", "--as-of", "2026-11-23"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so the workers die with it
    )


def kill_after(process: subprocess.Popen[bytes], out: Path, outputs: int) -> None:
    """SIGKILL the whole process group as soon as `outputs` PDFs exist under final names."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if out.is_dir() and len(list(out.glob("*.pdf"))) >= outputs:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the batch finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    if process.stderr:
        process.stderr.close()
    # Workers were in the group too: none may still be writing when we look.
    for _ in range(250):
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    else:
        pytest.fail("a worker outlived the SIGKILL of its batch")


@pytest.fixture
def guides(tmp_path: Path) -> Path:
    folder = tmp_path / "guides"
    folder.mkdir()
    for path in GUIDES:
        shutil.copy(path, folder / path.name)
    shutil.copytree(SEEDS / "images", folder / "images")
    assert len(GUIDES) == 12
    return folder


def test_killed_batch_leaves_no_partial_output_and_the_next_run_completes(
    guides: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    kill_after(start_batch(guides, out), out, outputs=2)
    pdfs = assert_only_complete_outputs(out)
    assert 2 <= len(pdfs) < len(GUIDES), "the kill must land mid-batch for this test to mean anything"

    finished = subprocess.run(
        [GUIDEPDF, "render", str(guides), "-o", str(out), "--jobs", "2", "--as-of", "2026-11-23"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    assert "Traceback" not in finished.stderr
    pdfs = assert_only_complete_outputs(out)
    assert len(pdfs) == len(GUIDES)
    assert not [p for p in out.iterdir() if p.name.endswith(".part")], "leftover temporary files"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rows = manifest["items"] if isinstance(manifest, dict) else manifest
    by_name = {Path(row["output"]).name: row for row in rows}
    assert set(by_name) == {p.name for p in pdfs}
    for pdf in pdfs:
        row = by_name[pdf.name]
        assert row["status"] in ("rendered", "skipped")
        assert row["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest(), pdf.name


SLOW_WRITE = textwrap.dedent(
    """
    import os, sys, time
    from guidepdf.output import atomic_write

    real_fsync = os.fsync

    def slow_fsync(fd):
        real_fsync(fd)
        print("written", flush=True)
        time.sleep(60)  # the new bytes are all in the temporary file; the rename has not happened

    os.fsync = slow_fsync
    atomic_write(sys.argv[1], b"%PDF-new " * 100_000)
    """
)


def test_atomic_write_killed_before_rename_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "brief.pdf"
    old = b"%PDF-old complete file"
    target.write_bytes(old)
    writer = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITE, str(target)], stdout=subprocess.PIPE, start_new_session=True
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == b"written"
    partials = list(tmp_path.glob(".brief.pdf.*.part"))
    assert len(partials) == 1 and partials[0].stat().st_size == len(b"%PDF-new ") * 100_000
    os.killpg(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    writer.stdout.close()
    assert target.read_bytes() == old


def test_a_batch_removes_the_temporary_files_left_for_its_own_outputs_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    mine = out / ".northwind-robotics-software-engineer.pdf.k2j4x9qz.part"
    manifest = out / ".manifest.json.a1b2c3d4.part"
    other = out / ".someone-else.pdf.k2j4x9qz.part"
    for path in (mine, manifest, other):
        path.write_bytes(b"%PDF-1.7 half written")
    guide = SEEDS / "northwind-robotics-software-engineer.md"
    result = CliRunner().invoke(
        main, ["render", str(guide), str(SEEDS / "lumenpay-product-manager.md"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert not mine.exists() and not manifest.exists()
    assert other.exists()  # not an output of this batch: left alone
