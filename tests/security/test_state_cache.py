"""The packet cache (`.guidepdf-cache`) is used only as a real folder; a cached part only if its hash checks.

A planted `.guidepdf-cache -> ~/somewhere` link must not be written to or pruned; a part swapped for
another PDF (or a link, or garbage) is a miss that renders the brief again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidepdf.cli import main

ROOT = Path(__file__).resolve().parents[2]
KESTREL = ROOT / "seeds" / "kestrel-games-product-designer.md"
LUMENPAY = ROOT / "seeds" / "lumenpay-product-manager.md"
OLD = time.time() - 400 * 86400  # far older than the cache keeps anything


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "guides").mkdir()
    shutil.copy(KESTREL, tmp_path / "guides" / "kestrel.md")
    (tmp_path / "victim").mkdir()
    return tmp_path


def packet(project: Path, *guides: Path) -> tuple[int, str]:
    args = ["packet", *(str(g) for g in guides or [project / "guides"]), "-o", str(project / "out" / "p.pdf")]
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


def text_of(pdf: Path) -> str:
    return " ".join(
        subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )


def victim_files(project: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((project / "victim").iterdir())}


def test_a_cache_folder_that_is_a_link_is_never_written_or_pruned(project: Path) -> None:
    victim = project / "victim"
    for name in ("thesis.pdf", "a" * 64 + ".pdf", "b" * 64 + ".json"):
        (victim / name).write_bytes(b"the user's own " + name.encode())
        os.utime(victim / name, (OLD, OLD))
    before = victim_files(project)
    (project / "out").mkdir()
    (project / "out" / ".guidepdf-cache").symlink_to(victim)
    code, output = packet(project)
    assert code == 0, output
    assert victim_files(project) == before  # nothing pruned, nothing added
    assert "Kestrel Games" in text_of(project / "out" / "p.pdf")


def cached_parts(project: Path) -> list[Path]:
    return sorted((project / "out" / ".guidepdf-cache").glob("*.pdf"))


def test_a_swapped_cached_part_is_rendered_again(project: Path, tmp_path: Path) -> None:
    code, output = packet(project)
    assert code == 0, output
    [part] = cached_parts(project)
    # Put another guide's brief (a perfectly valid PDF) in the part's place.
    other = tmp_path / "other.pdf"
    result = CliRunner().invoke(main, ["render", str(LUMENPAY), "-o", str(other)])
    assert result.exit_code == 0, result.output
    shutil.copy(other, part)
    code, output = packet(project)
    assert code == 0, output
    text = text_of(project / "out" / "p.pdf")
    assert "Kestrel Games" in text and "LumenPay" not in text
    assert "Kestrel Games" in text_of(part)  # and the cache holds the right brief again


@pytest.mark.parametrize("damage", ["garbage part", "garbage record", "record loop", "part is a link"])
def test_a_damaged_cache_entry_is_a_miss_not_a_traceback(project: Path, damage: str) -> None:
    code, output = packet(project)
    assert code == 0, output
    [part] = cached_parts(project)
    record = part.with_suffix(".json")
    secret = project / "victim" / "secret.pdf"
    secret.write_bytes(part.read_bytes())  # even a link to a byte-identical file is not followed
    if damage == "garbage part":
        part.write_bytes(b"%PDF-1.7 garbage")
    elif damage == "garbage record":
        record.write_text("[" * 100_000)
    elif damage == "record loop":
        record.unlink()
        record.symlink_to(record)
    else:
        part.unlink()
        part.symlink_to(secret)
    code, output = packet(project)
    assert code == 0, output
    assert "Traceback" not in output
    assert "Kestrel Games" in text_of(project / "out" / "p.pdf")
    assert not part.is_symlink() or damage != "part is a link"
