"""`guidepdf render` through the CLI: files, folders, globs, outputs, formats and exit statuses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import SEEDS, pdfinfo, pdftotext
from guidepdf.cli import main

GOOD = ["kestrel-games-product-designer.md", "saffron-health-data-engineer.md"]


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def guides(tmp_path: Path) -> Path:
    folder = tmp_path / "guides"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(SEEDS / GOOD[0], folder / GOOD[0])
    shutil.copy(SEEDS / GOOD[1], folder / "nested" / "saffron.markdown")
    (folder / "notes.rst").write_text("not a guide", encoding="utf-8")
    return folder


def test_one_file_to_a_named_pdf(tmp_path: Path) -> None:
    out = tmp_path / "brief.pdf"
    result = run("render", str(SEEDS / GOOD[0]), "-o", str(out), "--as-of", "2026-11-23")
    assert result.exit_code == 0, result.output
    assert "Kestrel Games — Product Designer" in pdftotext(out)
    assert not list(tmp_path.glob(".*.part"))
    mask = os.umask(0o022)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask  # as open() would create it, not mkstemp's 0600


def test_folder_recursively_into_named_outputs(guides: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("render", str(guides), "-o", str(out))
    assert result.exit_code == 0, result.output
    pdfs = sorted(p.name for p in out.glob("*.pdf"))
    assert pdfs == ["kestrel-games-product-designer.pdf", "saffron-health-data-engineer.pdf"]
    for pdf in out.glob("*.pdf"):
        assert int(pdfinfo(pdf)["Pages"]) >= 2


def test_default_output_folder_is_out(guides: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("render", str(guides / GOOD[0])).exit_code == 0
    assert (tmp_path / "out" / "kestrel-games-product-designer.pdf").exists()


def test_glob_input(guides: Path, tmp_path: Path) -> None:
    result = run("render", str(guides / "**" / "*.markdown"), "-o", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "o").glob("*.pdf")] == ["saffron-health-data-engineer.pdf"]


def test_bad_guide_fails_alone(guides: Path, tmp_path: Path) -> None:
    (guides / "broken.md").write_text("---\ncompany: x\nlast_updated: someday\n---\nBody\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", str(guides), "-o", str(out)])
    assert result.exit_code == 1
    assert f"error: {guides / 'broken.md'}: line 3: last_updated: expected a date" in result.stderr
    assert "Traceback" not in result.output
    assert len(list(out.glob("*.pdf"))) == 2


def test_missing_input_is_reported_and_others_still_render(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["render", str(SEEDS / GOOD[0]), str(tmp_path / "nope.md"), "-o", str(out)]
    )
    assert result.exit_code == 1
    assert f"error: {tmp_path / 'nope.md'}: no such file" in result.stderr
    assert (out / "kestrel-games-product-designer.pdf").exists()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["render", str(tmp_path / "nothing-*.md")])
    assert result.exit_code == 2
    assert "no guides selected" in result.stderr
    result = CliRunner().invoke(
        main, ["render", str(SEEDS / GOOD[0]), "--format", "html", "-o", str(tmp_path / "x.pdf")]
    )
    assert result.exit_code == 2
    assert CliRunner().invoke(main, ["render", str(SEEDS / GOOD[0]), "--page-size", "A3"]).exit_code == 2
    assert CliRunner().invoke(main, ["render", str(SEEDS / GOOD[0]), "--as-of", "tomorrow"]).exit_code == 2


def test_name_clashes_are_resolved_and_reported(tmp_path: Path) -> None:
    folder = tmp_path / "g"
    folder.mkdir()
    shutil.copy(SEEDS / GOOD[0], folder / "a.md")
    shutil.copy(SEEDS / GOOD[0], folder / "b.md")
    result = CliRunner().invoke(main, ["render", str(folder), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0
    names = sorted(p.name for p in (tmp_path / "out").glob("*.pdf"))
    assert names == ["kestrel-games-product-designer-2.pdf", "kestrel-games-product-designer.pdf"]
    assert "kestrel-games-product-designer-2.pdf" in result.stderr


def test_page_size_and_as_of(tmp_path: Path) -> None:
    out = tmp_path / "l.pdf"
    ironbark = SEEDS / "ironbark-security-security-engineer.md"  # review due 2026-09-12
    assert (
        run(
            "render", str(ironbark), "-o", str(out), "--page-size", "letter", "--as-of", "2026-06-01"
        ).exit_code
        == 0
    )
    assert "612 x 792" in pdfinfo(out)["Page size"]
    assert "Review overdue" not in pdftotext(out)
    assert run("render", str(ironbark), "-o", str(out), "--as-of", "2026-11-23").exit_code == 0
    assert "Review overdue" in pdftotext(out)


def test_html_is_self_contained_and_weasyprint_renders_it(tmp_path: Path) -> None:
    source = SEEDS / "northwind-robotics-software-engineer.md"  # has a local image
    html_path = tmp_path / "elsewhere" / "brief.html"
    assert (
        run(
            "render", str(source), "-o", str(html_path), "--format", "html", "--as-of", "2026-11-23"
        ).exit_code
        == 0
    )
    html = html_path.read_text(encoding="utf-8")
    assert "<style>" in html and "@font-face" in html
    assert 'url("data:font/otf;base64,' in html
    assert 'src="data:image/png;base64,' in html
    assert "fonts/Inter" not in html and 'src="images/' not in html
    pdf = tmp_path / "from-html.pdf"
    weasyprint = Path(sys.executable).parent / "weasyprint"
    subprocess.run([str(weasyprint), str(html_path), str(pdf)], check=True, capture_output=True, timeout=120)
    text = pdftotext(pdf)
    assert "Northwind Robotics — Software Engineer" in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Inter" in fonts
    listing = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    assert " 600 " in listing


def test_help_lists_every_command() -> None:
    result = run("--help")
    for command in ("render",):
        assert command in result.output
    assert run("render", "--help").output.count("--") > 10


def test_many_guides_into_one_file_name_is_a_usage_error(guides: Path, tmp_path: Path) -> None:
    for name in ("x.pdf", "x.HTML"):
        result = CliRunner().invoke(main, ["render", str(guides), "-o", str(tmp_path / name)])
        assert result.exit_code == 2, result.output
        assert f"error: -o {tmp_path / name}: 2 guides need a folder, not a file name" in result.output
        assert not (tmp_path / name).exists()
    # a folder that already exists under such a name is still a folder
    (tmp_path / "kept.pdf").mkdir()
    result = CliRunner().invoke(main, ["render", str(guides), "-o", str(tmp_path / "kept.pdf")])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "kept.pdf").glob("*.pdf"))) == 2


def test_debug_works_before_and_after_the_command(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("---\ncompensation: [{base_low: abc}]\n---\n# x\n", encoding="utf-8")
    for args in (["--debug", "check", str(bad)], ["check", "--debug", str(bad)]):
        result = CliRunner().invoke(main, args)
        assert "No such option" not in result.output, args
    result = CliRunner().invoke(main, ["render", "--debug", str(tmp_path / "none.md")])
    assert "No such option" not in result.output and result.exit_code == 2
    assert "--debug" in CliRunner().invoke(main, ["render", "--help"]).output


def test_fast_subsetting_note_once_and_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import ctypes

    from guidepdf import cli

    def missing(name: str | None, *args: object, **kwargs: object) -> None:
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(ctypes, "CDLL", missing)
    for tty, expected in ((False, 0), (True, 1)):
        monkeypatch.setattr(sys.stderr, "isatty", lambda tty=tty: tty)
        cli.hint_fast_subsetting.cache_clear()
        cli.hint_fast_subsetting()
        cli.hint_fast_subsetting()
        err = capsys.readouterr().err
        assert err.count("note: libharfbuzz-subset is not installed") == expected, err
        if expected:
            assert "apt-get install libharfbuzz-subset0" in err
    cli.hint_fast_subsetting.cache_clear()


def test_help_shows_what_is_optional() -> None:
    email = CliRunner().invoke(main, ["email", "--help"]).output
    assert "email [OPTIONS] [INPUT]..." in email  # optional with --recipients
    assert "--page-size [A4|Letter]" in CliRunner().invoke(main, ["render", "--help"]).output
