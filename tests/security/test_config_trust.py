"""A configuration file changes the look, never grants anything, and is trusted only where the user owns it.

The model is git's `safe.directory`: a `guidepdf.toml` in a folder owned by someone else, or writable by
every user (a shared /tmp), is ignored with a warning that says how to opt in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidepdf.cli import main
from guidepdf.config import SAFE_DIRECTORIES_VAR, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "seeds" / "kestrel-games-product-designer.md"
BRIEF = "kestrel-games-product-designer.pdf"


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding someone's guidepdf.toml with a theme; the test runs inside it."""
    folder = tmp_path / "shared"
    (folder / "theme").mkdir(parents=True)
    (folder / "theme" / "brief.html.j2").write_text(
        '{% extends "!builtin/brief.html.j2" %}{% block colophon %}<p>Planted theme</p>{% endblock %}'
    )
    (folder / "guidepdf.toml").write_text('templates = "theme"\noutput = "planted-out"\n')
    shutil.copy(GUIDE, folder / "guide.md")
    monkeypatch.chdir(folder)
    monkeypatch.delenv(SAFE_DIRECTORIES_VAR, raising=False)
    return folder


def text_of(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def render(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["render", "guide.md", *args])
    return result.exit_code, result.output


def assert_ignored(folder: Path, output: str, reason: str) -> None:
    warnings = [line for line in output.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, output  # once, though the defaults are read more than once
    assert warnings[0].startswith(f"warning: {folder / 'guidepdf.toml'}: ignored: {reason}")
    assert f"set {SAFE_DIRECTORIES_VAR}={folder}" in warnings[0]
    assert not (folder / "planted-out").exists()
    assert "Planted theme" not in text_of(folder / "out" / BRIEF)


def test_a_world_writable_folder_is_not_trusted(shared: Path) -> None:
    shared.chmod(0o777)
    code, output = render()
    assert code == 0, output
    assert_ignored(shared, output, "its folder is writable by every user")


def test_a_world_writable_config_file_is_not_trusted(shared: Path) -> None:
    (shared / "guidepdf.toml").chmod(0o666)
    code, output = render()
    assert code == 0, output
    assert_ignored(shared, output, "the file is writable by every user")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing a file's owner needs root"
)
def test_a_folder_owned_by_someone_else_is_not_trusted(shared: Path) -> None:
    os.chown(shared, 12345, 12345)
    os.chown(shared / "guidepdf.toml", 12345, 12345)
    code, output = render()
    assert code == 0, output
    assert_ignored(shared, output, "the file is owned by user id 12345, not by you")


def test_opting_in_trusts_the_folder(shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared.chmod(0o777)
    monkeypatch.setenv(SAFE_DIRECTORIES_VAR, os.pathsep.join(["/nowhere", str(shared)]))
    code, output = render()
    assert code == 0, output
    assert "warning" not in output
    assert "Planted theme" in text_of(shared / "planted-out" / BRIEF)


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('templates = "../outside"', "templates"),
        ('styles = ["/etc/hostname"]', "styles"),
        ('output = "/tmp"', "output"),
        ('output = "../../.."', "output"),
        ('styles = ["theme/link.css"]', "styles"),  # a symlink leading out of the folder
    ],
)
def test_config_paths_may_not_lead_out_of_its_folder(shared: Path, line: str, key: str) -> None:
    (shared.parent / "outside").mkdir()
    (shared.parent / "outside.css").write_text("body { color: red }\n")
    (shared / "theme" / "link.css").symlink_to(shared.parent / "outside.css")
    (shared / "guidepdf.toml").write_text(line + "\n")
    with pytest.raises(ConfigError, match=f"{key}: .* is outside the folder of the configuration file"):
        load_config()
    code, output = render()
    assert code == 2
    [error] = output.splitlines()
    assert error.startswith(f"error: {shared / 'guidepdf.toml'}: {key}: ")


@pytest.mark.parametrize(
    "line",
    [
        "allow_network = true",
        'smtp = "mail.evil.example"',
        'password = "x"',
        'roots = ["/"]',
        'fetch_roots = ["/home"]',
    ],
)
def test_a_config_cannot_grant_anything(shared: Path, line: str) -> None:
    (shared / "guidepdf.toml").write_text(line + "\n")
    code, output = render()
    assert code == 2
    assert "unknown key" in output and "Traceback" not in output


def test_a_config_that_is_a_fifo_is_passed_over_not_read(shared: Path) -> None:
    (shared / "guidepdf.toml").unlink()
    os.mkfifo(shared / "guidepdf.toml")  # opening it for reading would block forever
    code, output = render()
    assert code == 0, output
    assert "Planted theme" not in text_of(shared / "out" / BRIEF)
    with pytest.raises(ConfigError, match=r"guidepdf\.toml: not a regular file"):
        load_config(shared / "guidepdf.toml")


def test_the_configs_theme_still_cannot_read_outside_through_css(shared: Path) -> None:
    (shared.parent / "secret.css").write_text(".brief::before { content: 'LEAKED SECRET' }\n")
    (shared / "theme" / "look.css").write_text('@import url("../../secret.css");\n')
    (shared / "guidepdf.toml").write_text('styles = ["theme/look.css"]\noutput = "out"\n')
    code, output = render()
    assert "LEAKED SECRET" not in text_of(shared / "out" / BRIEF)
    assert code == 0, output
