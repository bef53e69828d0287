"""A tampered `manifest.json` or a planted link in the output folder never deletes, overwrites or poses.

The attacker controls the output folder's contents (it came inside a shared project), not the user's
command: every attack here is a file or a manifest row waiting in `out/` for the next `guidepdf render`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from guidepdf.batch import sign_row
from guidepdf.cli import main

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "seeds" / "kestrel-games-product-designer.md"
BRIEF = "kestrel-games-product-designer.pdf"
PRECIOUS = b"the user's own file, not guidepdf's\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "guides").mkdir()
    shutil.copy(GUIDE, tmp_path / "guides" / "guide.md")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".bashrc").write_bytes(PRECIOUS)
    (tmp_path / "home" / "notes.pdf").write_bytes(PRECIOUS)
    return tmp_path


def render(project: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["render", str(project / "guides"), "-o", str(project / "out")])
    return result.exit_code, result.output


def row(output: str, data: bytes, **extra: Any) -> dict[str, Any]:
    """A manifest row claiming `output`, with the sha256 of `data`, whose guide is gone."""
    values = {
        "source": "/gone/guide.md",
        "source_path": "/gone/guide.md",
        "output": output,
        "status": "rendered",
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "pages": 1,
        "key": "0" * 64,
        "error": None,
    }
    return {**values, **extra}


def plant(project: Path, rows: list[Any] | Any) -> None:
    out = project / "out"
    out.mkdir(exist_ok=True)
    document = {"generator": "guidepdf", "items": rows} if isinstance(rows, list) else rows
    (out / "manifest.json").write_text(json.dumps(document))


def text_of(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def assert_precious(project: Path) -> None:
    assert (project / "home" / ".bashrc").read_bytes() == PRECIOUS
    assert (project / "home" / "notes.pdf").read_bytes() == PRECIOUS


@pytest.mark.parametrize(
    "claim",
    ["../home/.bashrc", "../../home/.bashrc", "{home}/.bashrc", "{home}/notes.pdf", "../home/notes.pdf"],
)
def test_a_row_claiming_a_file_outside_the_folder_deletes_nothing(project: Path, claim: str) -> None:
    plant(project, [row(claim.format(home=project / "home"), PRECIOUS)])
    code, output = render(project)
    assert code == 0, output
    assert_precious(project)
    assert "removed" not in output


def test_a_link_in_the_folder_to_a_users_file_is_not_deleted_through(project: Path) -> None:
    out = project / "out"
    out.mkdir()
    (out / "notes.pdf").symlink_to(project / "home" / "notes.pdf")
    plant(project, [row("notes.pdf", PRECIOUS)])
    code, output = render(project)
    assert code == 0, output
    assert_precious(project)
    assert "removed" not in output


def test_a_file_guidepdf_wrote_is_still_removed_when_its_guide_is_gone(project: Path) -> None:
    """The safe case keeps working: a regular file in the folder with the recorded sha256."""
    out = project / "out"
    out.mkdir()
    (out / "old.pdf").write_bytes(b"%PDF-1.7 an old brief")
    plant(project, [sign_row(row("old.pdf", b"%PDF-1.7 an old brief"))])  # a row this user's run wrote
    code, output = render(project)
    assert code == 0, output
    assert not (out / "old.pdf").exists() and "1 removed" in output


def test_a_planted_link_with_a_matching_row_is_not_passed_off_as_the_brief(project: Path) -> None:
    code, output = render(project)
    assert code == 0, output
    out = project / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    [entry] = [r for r in manifest["items"] if r["output"].endswith(BRIEF)]
    # The attacker swaps the brief for a link to another file and records that file's hash and size.
    (out / BRIEF).unlink()
    (out / BRIEF).symlink_to(project / "home" / "notes.pdf")
    entry.update(sha256=hashlib.sha256(PRECIOUS).hexdigest(), bytes=len(PRECIOUS))
    (out / "manifest.json").write_text(json.dumps(manifest))
    code, output = render(project)
    assert code == 0, output
    assert "1 rendered, 0 skipped" in output
    assert not (out / BRIEF).is_symlink()
    assert "Kestrel Games" in text_of(out / BRIEF)
    assert_precious(project)  # replaced the link, never wrote through it


GARBAGE: dict[str, Any] = {
    "not json": "{{{ not json",
    "a number": 5,
    "items not a list": {"items": "everything"},
    "a row that is a list": [["output", "x.pdf"]],
    "output a number": [{"output": 5, "status": "rendered"}],
    "bytes as text": [row("x.pdf", b"x", bytes="12")],
    "pages as true": [row("x.pdf", b"x", pages=True)],
    "source_path a number": [row("x.pdf", b"x", source_path=7)],
    "sha256 a list": [row("x.pdf", b"x", sha256=["a"])],
    "sha256 not hex": [row("x.pdf", b"x", sha256="../../etc/passwd")],
    "the manifest itself": [row("manifest.json", b"x")],
    "dot dot": [row("..", b"x")],
    "hidden file": [row(".bashrc", b"x")],
    "deep nesting": "[" * 200_000 + "]" * 200_000,
}


@pytest.mark.parametrize("garbage", list(GARBAGE), ids=list(GARBAGE))
def test_a_damaged_manifest_costs_a_render_never_a_traceback(project: Path, garbage: str) -> None:
    value = GARBAGE[garbage]
    out = project / "out"
    out.mkdir()
    (out / "manifest.json").write_text(value if isinstance(value, str) else json.dumps(value))
    code, output = render(project)
    assert code == 0, output
    assert "Traceback" not in output and "1 rendered" in output
    assert "Kestrel Games" in text_of(out / BRIEF)
    rows = json.loads((out / "manifest.json").read_text())["items"]
    assert [Path(r["output"]).name for r in rows] == [BRIEF]


@pytest.mark.parametrize("kind", ["link to /dev/zero", "fifo", "link loop", "link to a user's file"])
def test_a_manifest_that_is_not_a_regular_file_is_not_read(project: Path, kind: str) -> None:
    out = project / "out"
    out.mkdir()
    manifest = out / "manifest.json"
    if kind == "link to /dev/zero":
        manifest.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(manifest)
    elif kind == "link loop":
        manifest.symlink_to(manifest)
    else:
        manifest.symlink_to(project / "home" / ".bashrc")
    code, output = render(project)
    assert code == 0, output
    assert not manifest.is_symlink() and json.loads(manifest.read_text())["items"]
    assert_precious(project)
