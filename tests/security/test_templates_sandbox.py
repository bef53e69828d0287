"""Templates are data: every Jinja environment is a sandbox, wherever its templates come from.

The attacker hands over a guide folder with a `guidepdf.toml` naming a `.theme/` folder, and the
victim runs `guidepdf render .` there (or `packet`, or `email`). Each attack must stop with one
`error:` line naming the template file, and must leave no trace of having run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from guidepdf.cli import main

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "seeds" / "kestrel-games-product-designer.md"

# Each would, unsandboxed, run `touch PWNED` or leak Python internals into the brief.
ATTACKS = {
    "lipsum globals": "{{ lipsum.__globals__['os'].system('touch PWNED') }}",
    "cycler globals": "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}",
    "template reference context": "{{ self._TemplateReference__context }}",
    "class mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "format string": "{{ '{0.__class__.__init__.__globals__}'.format(guide) }}",
    "format_map": "{{ '{x.__class__}'.format_map({'x': guide}) }}",
    "huge range": "{{ range(10**9) | list | length }}",
    "huge power": "{{ 10 ** 1000000 }}",
    "huge repeat": "{{ 'x' * 10**9 }}",
    "huge printf width": "{{ '%1000000000d' % 1 }}",
    "huge format filter width": "{{ '%1000000000d' | format(1) }}",
    "huge format width": "{{ '{:>1000000000}'.format(1) }}",
    "huge ljust": "{{ 'x'.ljust(10**9) }}",
    "huge replace method": "{{ ('a' * 10**6).replace('a', 'a' * 10**6) }}",
    "huge replace filter": "{{ ('a' * 10**6) | replace('a', 'a' * 10**6) }}",
    "huge join method": "{{ ''.join(['a' * 10**6] * 10**5) }}",
    "huge join filter": "{{ (['a' * 10**6] * 10**5) | join }}",
    "huge center filter": "{{ 'x' | center(10**9) }}",
    "huge indent filter": "{{ 'x' | indent(10**9, true) }}",
    "huge lipsum": "{{ lipsum(10**6) }}",
    "reading a file through a path": "{{ guide.path.read_text() }}",
    "walking from a path": "{{ guide.path.parent.joinpath('secret.dat') }}",
    "writing through a path": "{{ guide.path.write_text('x') }}",
    "mutating the context": "{% set _ = meta.update({'company': 'Evil'}) %}{{ meta.company }}",
    "request globals": "{{ namespace.__init__.__globals__ }}",
    "joiner": "{{ joiner.__init__.__globals__ }}",
}


@pytest.fixture
def downloaded(tmp_path: Path) -> Path:
    """A guide folder as received from someone else: a guide, a config and a theme of theirs."""
    folder = tmp_path / "received"
    (folder / ".theme").mkdir(parents=True)
    shutil.copy(GUIDE, folder / "guide.md")
    (folder / "secret.dat").write_text("the victim's secret\n")
    (folder / "guidepdf.toml").write_text('templates = ".theme"\n')
    return folder


def run_in(folder: Path, *args: str) -> tuple[int, str]:
    old = Path.cwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)
    return result.exit_code, result.output


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_a_config_theme_cannot_run_code_in_a_brief(downloaded: Path, attack: str) -> None:
    template = downloaded / ".theme" / "brief.html.j2"
    template.write_text(
        '{% extends "!builtin/brief.html.j2" %}\n{% block colophon %}\n'
        + ATTACKS[attack]
        + "\n{% endblock %}"
    )
    code, output = run_in(downloaded, "render", ".", "-o", "out", "--format", "html")
    assert code == 1, output
    assert "Traceback" not in output
    errors = error_lines(output)
    assert len(errors) == 1, output
    # The line names the template file and the line of the attack.
    assert f"{template}: line 3:" in errors[0], errors[0]
    assert not (downloaded / "PWNED").exists()
    assert not (downloaded / "out" / "kestrel-games-product-designer.html").exists()
    assert "the victim's secret" not in output


def test_the_real_command_refuses_the_attack_with_one_line(downloaded: Path) -> None:
    (downloaded / ".theme" / "brief.html.j2").write_text(ATTACKS["lipsum globals"])
    done = subprocess.run(
        [sys.executable, "-m", "guidepdf", "render", ".", "-o", "out"],
        cwd=downloaded,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    [line] = error_lines(done.stderr)
    assert "brief.html.j2: line 1: refused by the template sandbox" in line
    assert "__globals__" in line
    assert not (downloaded / "PWNED").exists()


def test_a_sandboxed_theme_still_changes_the_look(downloaded: Path) -> None:
    (downloaded / ".theme" / "brief.html.j2").write_text(
        '{% extends "!builtin/brief.html.j2" %}\n'
        "{% block colophon %}<footer>Theme {{ '%05.1f' % 2.5 }} {{ 'ab' * 3 }} {{ 2 ** 10 }} "
        "{{ '{:>4}'.format('x') }} {{ guide.path.name }}</footer>{% endblock %}\n"
    )
    code, output = run_in(downloaded, "render", ".", "-o", "out")
    assert code == 0, output
    pdf = downloaded / "out" / "kestrel-games-product-designer.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Theme 002.5 ababab 1024" in " ".join(text.split())
    assert "guide.md" in text


def test_an_include_cannot_leave_the_theme_folder(downloaded: Path) -> None:
    theme = downloaded / ".theme"
    (theme / "leak.html").symlink_to(downloaded / "secret.dat")
    (theme / "brief.html.j2").write_text('{% include "leak.html" %}')
    code, output = run_in(downloaded, "render", ".", "-o", "out", "--format", "html")
    assert code == 1
    [line] = error_lines(output)
    assert "leak.html" in line and "outside" in line
    assert "the victim's secret" not in output
    assert not list((downloaded / "out").glob("*.html")) if (downloaded / "out").exists() else True


def test_dotdot_and_absolute_template_names_are_not_found(downloaded: Path) -> None:
    (downloaded / ".theme" / "brief.html.j2").write_text('{% include "../secret.dat" %}')
    code, output = run_in(downloaded, "render", ".", "-o", "out", "--format", "html")
    assert code == 1
    assert len(error_lines(output)) == 1 and "the victim's secret" not in output


def test_a_fifo_in_the_theme_is_never_read_as_a_template(downloaded: Path) -> None:
    os.mkfifo(downloaded / ".theme" / "brief.html.j2")  # opening it for reading would block forever
    code, output = run_in(downloaded, "render", ".", "-o", "out", "--format", "html")
    assert code == 1
    [line] = error_lines(output)
    assert "brief.html.j2" in line and "not a regular file" in line


def test_a_packet_template_is_sandboxed(downloaded: Path) -> None:
    (downloaded / ".theme" / "packet.html.j2").write_text(ATTACKS["cycler globals"])
    code, output = run_in(downloaded, "packet", ".", "-o", "out/packet.pdf")
    assert code == 1
    assert "Traceback" not in output
    assert any("packet.html.j2: line 1: refused by the template sandbox" in ln for ln in error_lines(output))
    assert not (downloaded / "PWNED").exists()
    assert not (downloaded / "out" / "packet.pdf").exists()


@pytest.mark.parametrize("name", ["message.txt.j2", "message.html.j2"])
def test_email_templates_are_sandboxed(downloaded: Path, name: str) -> None:
    (downloaded / ".theme" / "email").mkdir()
    (downloaded / ".theme" / "email" / name).write_text("Hello\n" + ATTACKS["lipsum globals"])
    code, output = run_in(
        downloaded, "email", "guide.md", "--to", "a@example.org", "--from", "b@example.org", "--eml", "mail"
    )
    assert code == 1
    assert "Traceback" not in output
    assert any(f"{name}: line 2: refused by the template sandbox" in ln for ln in error_lines(output))
    assert not (downloaded / "PWNED").exists()
    assert not (downloaded / "mail").exists() or not list((downloaded / "mail").iterdir())
