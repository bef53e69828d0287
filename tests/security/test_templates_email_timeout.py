"""`email` renders under a time limit like `render`: a brief or email template that never ends is stopped."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidepdf.cli import main

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "seeds" / "lumenpay-product-manager.md"
# 10^10 loop turns: hours of work, and no single step large enough for the sandbox to refuse.
pytestmark = pytest.mark.slow
FOREVER = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


@pytest.fixture
def theme(tmp_path: Path) -> Path:
    (tmp_path / "theme" / "email").mkdir(parents=True)
    shutil.copy(GUIDE, tmp_path / "guide.md")
    return tmp_path / "theme"


def email(tmp_path: Path, theme: Path, *extra: str) -> tuple[int, str, float]:
    started = time.monotonic()
    result = CliRunner().invoke(
        main,
        [
            "email", str(tmp_path / "guide.md"), "--to", "ann@example.com", "--to", "bob@example.com",
            "--from", "coach@example.org", "--as-of", "2026-11-23", "--templates", str(theme),
            "--eml", str(tmp_path / "mail"), *extra,
        ],
    )  # fmt: skip
    return result.exit_code, result.output, time.monotonic() - started


def errors(output: str) -> list[str]:
    assert "Traceback" not in output
    return [line for line in output.splitlines() if line.startswith("error: ")]


def test_an_email_template_that_never_ends_is_stopped(tmp_path: Path, theme: Path) -> None:
    (theme / "email" / "message.txt.j2").write_text("Hello\n" + FOREVER)
    # Long enough for the brief itself on a busy machine; the template loop would take hours.
    code, output, seconds = email(tmp_path, theme, "--render-timeout", "8")
    assert code == 1
    lines = errors(output)
    assert len(lines) == 2, output  # one per message; the run went on to the second
    assert lines[0] == "error: ann@example.com: the email templates: stopped after 8 s (--render-timeout)"
    assert lines[1].startswith("error: bob@example.com: the email templates: stopped after 8 s")
    assert seconds < 120
    assert not (tmp_path / "mail").exists()


def test_a_brief_that_never_ends_is_stopped_and_named(tmp_path: Path, theme: Path) -> None:
    (theme / "brief.html.j2").write_text(FOREVER)
    code, output, seconds = email(tmp_path, theme, "--render-timeout", "1")
    assert code == 1
    [line] = errors(output)  # the same brief fails both messages the same way: said once
    assert line == f"error: {tmp_path / 'guide.md'}: stopped after 1 s (--render-timeout)"
    assert seconds < 60


def test_the_default_limit_lets_a_normal_brief_through(tmp_path: Path, theme: Path) -> None:
    code, output, _ = email(tmp_path, theme)
    assert code == 0, output
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 2
    assert "--render-timeout" in CliRunner().invoke(main, ["email", "--help"]).output
