"""Bad-input corpus: each `tests/data/bad/x.md` fails with exactly the line in `x.error`, exit 1, no file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidepdf import GuideError, load_guide
from guidepdf.cli import main

BAD = Path(__file__).parent / "data" / "bad"
CASES = sorted(p.stem for p in BAD.glob("*.md"))


def test_corpus_is_paired() -> None:
    assert len(CASES) >= 12
    assert {p.stem for p in BAD.glob("*.error")} == set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_bad_guide_gives_its_one_line_error(name: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(BAD)
    out = tmp_path / "brief.pdf"
    result = CliRunner().invoke(main, ["render", f"{name}.md", "-o", str(out)])
    expected = (BAD / f"{name}.error").read_text(encoding="utf-8").strip()
    lines = result.stderr.splitlines()
    assert result.exit_code == 1
    assert lines[0] == expected
    assert "Traceback" not in result.output + result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_no_traceback_from_a_real_process(tmp_path: Path) -> None:
    """The installed command, not only CliRunner, prints one line and exits 1."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "guidepdf",
            "render",
            str(BAD / "python-tag.md"),
            "-o",
            str(tmp_path / "x.pdf"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 1
    assert run.stderr.splitlines()[0].startswith("error: ")
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "pwned").exists()  # the tag would have run `touch pwned` here


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    big.write_bytes(b"---\ncompany: x\n---\n" + b"word " * 1_300_000)
    with pytest.raises(GuideError, match=r"over the 5,000,000-byte limit"):
        load_guide(big)


def test_alias_bomb_is_bounded() -> None:
    with pytest.raises(GuideError, match="expands to more than"):
        load_guide(BAD / "alias-bomb.md")


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.md"
    deep.write_text("---\nx: " + "[" * 5000 + "]" * 5000 + "\n---\nBody\n", encoding="utf-8")
    with pytest.raises(GuideError, match="nested"):
        load_guide(deep)
