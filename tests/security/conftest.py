"""Fixtures for the hostile-input tests: a secret outside the guide folder, a good guide, the real CLI."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner

from guidepdf.cli import main

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "seeds" / "kaiyo-logistics-platform-engineer.md"
#: The good guide's output name.
GOOD_PDF = "kaiyo-logistics-platform-engineer.pdf"
#: What an attacker is after: it must never appear in any output.
SECRET = "SECRET-7f3a9c-do-not-leak"
AS_OF = "2026-11-23"


@dataclass(frozen=True)
class Run:
    """What a command printed and its exit status."""

    code: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        """The `error:` lines on stderr."""
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def cli(*args: str | Path, cwd: Path | None = None) -> Run:
    """Run guidepdf in this process (CliRunner), as a user would type it."""
    runner = CliRunner()
    argv = [str(a) for a in args]
    if cwd is None:
        result = runner.invoke(main, argv)
    else:
        with runner.isolated_filesystem(temp_dir=cwd):
            result = runner.invoke(main, argv)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback is itself a failure of the one-line promise
    return Run(result.exit_code, result.stdout, result.stderr)


def render_batch(*inputs: str | Path, out: Path) -> Run:
    """`guidepdf render INPUT... -o out` in one process, checked for tracebacks."""
    run = cli("render", *inputs, "-o", out, "--as-of", AS_OF, "-j", "1")
    no_traceback(run)
    return run


def error_line(run: Run, path: Path, after: str = "") -> str:
    """The one `error:` line about `path` (starting with `after` once the path is named)."""
    [line] = [e for e in run.errors if e.startswith(f"error: {path}: {after}")]
    return line


def cli_process(*args: str | Path, cwd: Path | None = None, timeout: float = 120) -> Run:
    """Run guidepdf as its own process, with a time limit: a FIFO or /dev/zero must not hang it."""
    done = subprocess.run(
        [sys.executable, "-m", "guidepdf", *[str(a) for a in args]],
        capture_output=True,
        text=True,
        errors="replace",
        cwd=cwd,
        timeout=timeout,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def readable_text(pdf: Path | bytes) -> str:
    """Everything a reader of `pdf` can get at: its text (pdftotext) and every embedded file."""
    data = pdf.read_bytes() if isinstance(pdf, Path) else pdf
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode("utf-8", "replace")
    with pikepdf.Pdf.open(io.BytesIO(data)) as document:
        files = [spec.get_file().read_bytes() for spec in document.attachments.values()]
    return text + "\n".join(f.decode("utf-8", "replace") for f in files)


def attachment_names(pdf: Path) -> list[str]:
    """The names of the files embedded in `pdf`."""
    with pikepdf.Pdf.open(pdf) as document:
        return sorted(document.attachments)


def no_traceback(run: Run) -> None:
    """Assert the run printed no traceback, and every stderr line is one honest line."""
    assert "Traceback" not in run.stderr + run.stdout, run.stderr


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A file outside every guide folder holding the secret (a stand-in for ~/.ssh/id_rsa)."""
    path = tmp_path / "private" / "id_rsa"
    path.parent.mkdir()
    path.write_text(f"---\ntitle: {SECRET}\n---\n{SECRET}\n", encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A guide folder holding one good guide."""
    path = tmp_path / "guides"
    path.mkdir()
    shutil.copy(GOOD, path / GOOD.name)
    return path


def write_guide(path: Path, body: str = "# Notes\n\nA plain guide.\n", **fields: str) -> Path:
    """A small guide with the given front-matter fields (values written as given, YAML)."""
    front = "".join(f"{k}: {v}\n" for k, v in ({"company": "acme", "role": "engineer"} | fields).items())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\n{front}---\n{body}", encoding="utf-8")
    return path


def pdfs(out: Path) -> Sequence[Path]:
    """The PDFs written into `out`, sorted."""
    return sorted(out.glob("*.pdf"))
