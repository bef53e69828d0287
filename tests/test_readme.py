"""The README's set-up commands work from a fresh clone, and every command is documented."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import ROOT, SEEDS
from guidepdf.cli import main

README = (ROOT / "README.md").read_text(encoding="utf-8")


def setup_commands() -> list[str]:
    block = README.split("## Set-up", 1)[1].split("```console", 1)[1].split("```", 1)[0]
    return [line[2:].split("#", 1)[0].strip() for line in block.splitlines() if line.startswith("$ ")]


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one() -> None:
    demo, test = setup_commands()
    assert demo == "bash scripts/demo" and test == "bash scripts/test"
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_command_has_help_and_a_readme_section() -> None:
    for name, command in main.commands.items():
        assert command.help, name
        assert f"guidepdf {name}" in README, f"README does not show `guidepdf {name}`"


@pytest.mark.skipif(
    not (ROOT / ".git").exists() or shutil.which("git") is None, reason="needs a git checkout"
)
def test_demo_command_from_a_fresh_clone(tmp_path: Path) -> None:
    """`bash scripts/demo` in a new clone installs guidepdf and renders every seed into out/."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    (demo_command, _) = setup_commands()
    run = subprocess.run(
        demo_command, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stderr[-2000:]
    seeds = sorted(SEEDS.glob("*.md"))
    pdfs = sorted((clone / "out").glob("*.pdf"))
    assert len(pdfs) == len(seeds)
    for pdf in pdfs:
        reader = PdfReader(pdf)
        assert len(reader.pages) >= 1
        assert re.search(r"Salary negotiation brief", reader.pages[0].extract_text(), re.I)
    # the wheel (not an editable install) carries the theme: run it from an unrelated folder
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(seeds[0], elsewhere / "g.md")
    run = subprocess.run(
        [str(clone / ".venv" / "bin" / "guidepdf"), "render", "g.md", "-o", "g.pdf"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert (elsewhere / "g.pdf").stat().st_size > 10_000
    installed = subprocess.run(
        [
            str(clone / ".venv" / "bin" / "python"),
            "-c",
            "import guidepdf.themes as t; print(t.builtin_dir('styles'))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=elsewhere,
    ).stdout
    assert "site-packages" in installed
