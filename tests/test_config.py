"""The config file (guidepdf.toml or [tool.guidepdf]): defaults relative to it; typed flags win."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import DATA, pdfinfo, pdftotext
from guidepdf.cli import main
from guidepdf.config import ConfigError, find_config, load_config


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with a guide, a theme folder and a config file; the test runs in a subfolder."""
    (tmp_path / "guides").mkdir()
    shutil.copy(DATA / "reference.md", tmp_path / "guides" / "ref.md")
    (tmp_path / "theme").mkdir()
    (tmp_path / "theme" / "extra.css").write_text(".notice { display: none; }\n")
    (tmp_path / "theme" / "brief.html.j2").write_text(
        '{% extends "!builtin/brief.html.j2" %}\n{% block colophon %}<p>Configured theme</p>{% endblock %}\n'
    )
    (tmp_path / "guidepdf.toml").write_text(
        'templates = "theme"\nstyles = ["theme/extra.css"]\npage_size = "letter"\n'
        'output = "briefs"\nas_of = 2026-11-23\n'
    )
    work = tmp_path / "guides"
    monkeypatch.chdir(work)
    return tmp_path


def test_config_is_found_from_a_subfolder_with_paths_relative_to_it(project: Path) -> None:
    config = load_config()
    assert config.path == project / "guidepdf.toml"
    assert config.templates == (project / "theme",)
    assert config.styles == (project / "theme" / "extra.css",)
    assert (config.page_size, config.output, config.as_of) == (
        "Letter",
        project / "briefs",
        date(2026, 11, 23),
    )


def test_render_uses_every_configured_default(project: Path) -> None:
    result = CliRunner().invoke(main, ["render", "ref.md"])
    assert result.exit_code == 0, result.output
    pdf = project / "briefs" / "jane-street-ml-ai-engineer.pdf"  # output folder beside the config
    text = pdftotext(pdf)
    assert "Configured theme" in text  # templates
    assert "Review overdue" not in text  # styles: the notice is hidden (it is overdue as of 2026-11-23)
    assert pdfinfo(pdf)["Page size"].startswith("612 x 792")  # Letter


def test_typed_flags_win_over_the_config(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "plain.css"
    other.write_text("/* nothing */\n")
    out = project / "flags.pdf"
    args = ["render", "ref.md", "-o", str(out), "--page-size", "A4", "--style", str(other)]
    result = CliRunner().invoke(main, [*args, "--as-of", "2026-11-30"])
    assert result.exit_code == 0, result.output
    assert pdfinfo(out)["Page size"].startswith("595.")  # A4
    text = " ".join(pdftotext(out).split())
    assert "Configured theme" in text  # templates were not typed: the config's still apply
    assert "Review overdue" in text  # the typed --style replaced the config's, which hid the notice
    assert "as of 30 Nov 2026" in text  # the typed --as-of, not the config's 23 Nov


def test_pyproject_tool_table_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.guidepdf]\npage_size = "A4"\n')
    (tmp_path / "sub").mkdir()
    assert find_config(tmp_path / "sub") == tmp_path / "pyproject.toml"
    assert load_config(start=tmp_path / "sub").page_size == "A4"


def test_a_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    (tmp_path / "guidepdf.toml").write_text('as_of = "2026-01-31"\n')
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "pyproject.toml").write_text('[project]\nname = "guidepdf-user"\n')
    assert load_config(start=tmp_path / "inner").as_of == date(2026, 1, 31)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('page_size = "A3"\n', "page_size: expected one of A4, Letter, got 'A3'"),
        ('styles = ["missing.css"]\n', "styles: no such file: "),
        ("as_of = 20261123\n", "as_of: expected a date as YYYY-MM-DD, got 20261123"),
        ('stlyes = "x.css"\n', "stlyes: unknown key (known: templates, styles,"),
        ('page_size = "A4"\noutput = 3\n', "output: expected a path as text, got 3"),
        ("page_size = \n", "invalid TOML: "),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "guidepdf.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(start=tmp_path)
    assert str(info.value).startswith(f"{config}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_config_from_the_cli_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "guidepdf.toml").write_text('[tool]\npage_size = "A4"\n')
    shutil.copy(DATA / "reference.md", tmp_path / "ref.md")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["render", "ref.md", "--format", "html"])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path / 'guidepdf.toml'}: tool: unknown key " + (
        "(known: templates, styles, page_size, output, as_of, pdf_variant, rates)"
    )
    assert not (tmp_path / "out").exists()
