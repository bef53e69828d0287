"""State in an output folder counts only if this user's runs signed it: a row or cache record forged by
someone else, even with the right render key and a matching hash, costs a render and nothing more."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "seeds" / "kestrel-games-product-designer.md"
BRIEF = "kestrel-games-product-designer.pdf"
GUIDEPDF = [sys.executable, "-m", "guidepdf"]
PLANTED = b"%PDF-1.7\n% not the brief: the attacker's file\n"
AS_OF = ["--as-of", "2026-11-23"]


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(home)}  # whose state key signs and checks
    return subprocess.run([*GUIDEPDF, *args, *AS_OF], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "guides").mkdir()
    shutil.copy(GUIDE, tmp_path / "guides" / "guide.md")
    return tmp_path


def forge_row(out: Path, name: str, data: bytes, **fields: object) -> None:
    """Make the manifest vouch for `data` under `name`, keeping the row's signature (or adding a fake)."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    rows = [row for row in manifest["items"] if row["output"].endswith(name)] or [dict(manifest["items"][0])]
    row = rows[0]
    row.update(output=str(out / name), sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), **fields)
    if row not in manifest["items"]:
        manifest["items"].append(row)
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_planted_brief_with_a_forged_row_is_rendered_over(project: Path) -> None:
    home, out = project / "me", project / "out"
    assert run("render", str(project / "guides"), "-o", str(out), home=home).returncode == 0
    real = (out / BRIEF).read_bytes()
    (out / BRIEF).write_bytes(PLANTED)
    forge_row(out, BRIEF, PLANTED)  # right render key, hash of the planted file: only the MAC is wrong
    again = run("render", str(project / "guides"), "-o", str(out), home=home)
    assert again.returncode == 0 and again.stderr.startswith("1 rendered, 0 skipped"), again.stderr
    assert (out / BRIEF).read_bytes() == real


def test_a_forged_row_cannot_name_a_users_file_as_a_stale_output(project: Path) -> None:
    home, out = project / "me", project / "out"
    assert run("render", str(project / "guides"), "-o", str(out), home=home).returncode == 0
    notes = out / "notes.pdf"
    notes.write_bytes(PLANTED)  # the user's own file, which happens to sit in the output folder
    forge_row(out, "notes.pdf", PLANTED, source_path=str(project / "gone.md"), mac="0" * 64)
    again = run("render", str(project / "guides"), "-o", str(out), home=home)
    assert again.returncode == 0, again.stderr
    assert notes.read_bytes() == PLANTED and "removed" not in again.stderr


def test_a_forged_cache_record_is_a_miss(project: Path) -> None:
    home, out = project / "me", project / "out"
    packet = out / "packet.pdf"
    assert run("packet", str(project / "guides"), "-o", str(packet), home=home).returncode == 0
    cache = out / ".guidepdf-cache"
    [part] = cache.glob("*.pdf")
    record = json.loads(part.with_suffix(".json").read_text(encoding="utf-8"))
    part.write_bytes(PLANTED)
    record.update(sha256=hashlib.sha256(PLANTED).hexdigest(), bytes=len(PLANTED))
    part.with_suffix(".json").write_text(json.dumps(record), encoding="utf-8")
    first = packet.read_bytes()
    packet.unlink()
    again = run("packet", str(project / "guides"), "-o", str(packet), home=home)
    assert again.returncode == 0, again.stderr
    assert packet.read_bytes() == first  # the part was rendered again, not taken from the planted file


def test_an_output_folder_from_someone_else_is_rendered_again_to_the_same_bytes(project: Path) -> None:
    out = project / "out"
    assert run("render", str(project / "guides"), "-o", str(out), home=project / "them").returncode == 0
    theirs = (out / BRIEF).read_bytes()
    mine = run("render", str(project / "guides"), "-o", str(out), home=project / "me")
    assert mine.stderr.startswith("1 rendered, 0 skipped"), mine.stderr  # their rows vouch for nothing here
    assert (out / BRIEF).read_bytes() == theirs
    again = run("render", str(project / "guides"), "-o", str(out), home=project / "me")
    assert again.stderr.startswith("0 rendered, 1 skipped"), again.stderr
    key = project / "me" / "guidepdf" / "state.key"
    assert key.stat().st_mode & 0o777 == 0o600
