"""Themes: --templates overrides any template by name, `!builtin/` extends one block, --style applies last."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import DATA, pdftotext
from guidepdf.cli import main

REFERENCE = DATA / "reference.md"


def render(tmp_path: Path, *args: str, fmt: str = "pdf") -> tuple[int, str, Path]:
    out = tmp_path / f"brief.{fmt}"
    result = CliRunner().invoke(
        main, ["render", str(REFERENCE), "-o", str(out), "--as-of", "2026-11-23", "--format", fmt, *args]
    )
    return result.exit_code, result.output, out


@pytest.fixture
def theme(tmp_path: Path) -> Path:
    folder = tmp_path / "theme"
    folder.mkdir()
    return folder


def test_extending_the_builtin_changes_one_block_only(tmp_path: Path, theme: Path) -> None:
    (theme / "brief.html.j2").write_text(
        '{% extends "!builtin/brief.html.j2" %}\n'
        "{% block colophon %}<footer>Prepared for the hiring committee, {{ as_of | date }}</footer>"
        "{% endblock %}\n"
    )
    code, output, out = render(tmp_path, "--templates", str(theme))
    assert code == 0, output
    text = " ".join(pdftotext(out).split())
    assert "Prepared for the hiring committee, 23 Nov 2026" in text
    assert "Made with guidepdf" not in text  # the built-in colophon is gone
    assert "$525K–$775K" in text and "Review overdue" in text  # every other block is still there


def test_a_template_name_overrides_the_builtin_everywhere_it_is_used(tmp_path: Path, theme: Path) -> None:
    (theme / "chart.html.j2").write_text(
        "{% macro range_chart(chart, id='chart') %}<p class='my-chart'>{{ chart.rows | length }} regions "
        "charted my way</p>{% endmacro %}\n"
    )
    code, output, out = render(tmp_path, "--templates", str(theme), fmt="html")
    assert code == 0, output
    html = out.read_text()
    assert "3 regions charted my way" in html and "<svg" not in html


def test_whole_template_override_and_later_folders_lose(tmp_path: Path, theme: Path) -> None:
    second = tmp_path / "second"
    second.mkdir()
    (theme / "brief.html.j2").write_text(
        '{% extends "base.html.j2" %}{% block content %}<h1>{{ guide.company_display }} one-pager</h1>'
        "{% endblock %}"
    )
    (second / "brief.html.j2").write_text("<p>never used</p>")
    code, output, out = render(tmp_path, "--templates", str(theme), "--templates", str(second), fmt="html")
    assert code == 0, output
    html = out.read_text()
    assert "Jane Street one-pager" in html and "never used" not in html


def test_style_applies_after_the_builtin(tmp_path: Path) -> None:
    css = tmp_path / "quiet.css"
    css.write_text(".notice, .range-chart { display: none; }\n")
    code, output, out = render(tmp_path, "--style", str(css))
    assert code == 0, output
    text = pdftotext(out)
    assert "Review overdue" not in text and "no figures" not in text
    assert "$525K–$775K" in text


def test_missing_template_names_every_folder_searched(tmp_path: Path, theme: Path) -> None:
    (theme / "brief.html.j2").write_text('{% include "sidebar.html.j2" %}')
    code, output, _ = render(tmp_path, "--templates", str(theme), fmt="html")
    assert code == 1
    line = output.strip().splitlines()[0]
    assert line.startswith("error: ") and "sidebar.html.j2" in line and str(theme) in line


def test_a_broken_theme_template_is_one_line_not_a_traceback(tmp_path: Path, theme: Path) -> None:
    (theme / "brief.html.j2").write_text("{{ guide.title + 3 }}")
    code, output, _ = render(tmp_path, "--templates", str(theme), fmt="html")
    assert code == 1
    assert "Traceback" not in output
    assert any(ln.startswith("error: ") and "brief.html.j2" in ln for ln in output.splitlines())


@pytest.mark.parametrize(
    "css",
    [
        ".body blockquote { float: footnote; }\n",
        ":root { --aside: footnote; } .body blockquote { float: var(--aside); }\n",
    ],
)
def test_a_style_can_make_footnotes(tmp_path: Path, css: str) -> None:
    style = tmp_path / "notes.css"
    style.write_text(css)
    code, output, out = render(tmp_path, "--style", str(style))
    assert code == 0, output
    text = " ".join(pdftotext(out).split())
    assert "1. Negotiate Up Strategy:" in text  # the browser's footnote marker, before the note's text


def with_own_style(theme: Path, css: str) -> None:
    """A theme whose brief is the built-in one with `css` in a style element of its own."""
    (theme / "brief.html.j2").write_text(
        f'{{% extends "!builtin/brief.html.j2" %}}\n{{% block head %}}<style>{css}</style>{{% endblock %}}\n'
    )


def test_a_template_can_make_footnotes_in_its_own_style(tmp_path: Path, theme: Path) -> None:
    with_own_style(theme, ".body blockquote { float: footnote; }")
    code, output, out = render(tmp_path, "--templates", str(theme))
    assert code == 0, output
    assert "1. Negotiate Up Strategy:" in " ".join(pdftotext(out).split())


def fill_colours(path: Path) -> set[tuple[float, ...]]:
    """The RGB fill colours page one's content sets, rounded to two places."""
    import pikepdf

    with pikepdf.open(path) as pdf:
        return {
            tuple(round(float(value), 2) for value in instruction.operands)
            for instruction in pikepdf.parse_content_stream(pdf.pages[0].obj)
            if str(instruction.operator) == "rg"
        }


BRAND = (round(0x7A / 255, 2), round(0x1F / 255, 2), round(0x5C / 255, 2))


def test_the_brand_colour_is_not_the_themes_own(tmp_path: Path) -> None:
    code, output, out = render(tmp_path)
    assert code == 0, output
    assert BRAND not in fill_colours(out)  # so the two tests below see the brand's colour, not a match


def test_a_style_sets_the_themes_colours_through_its_custom_properties(tmp_path: Path) -> None:
    brand = tmp_path / "brand.css"
    brand.write_text(":root { --accent: #7a1f5c; }\n")
    code, output, out = render(tmp_path, "--style", str(brand))
    assert code == 0, output
    assert BRAND in fill_colours(out)  # the kicker, links and pills


def test_a_template_sets_the_themes_colours_in_its_own_style(tmp_path: Path, theme: Path) -> None:
    with_own_style(theme, ":root { --accent: #7a1f5c; }")
    code, output, out = render(tmp_path, "--templates", str(theme))
    assert code == 0, output
    assert BRAND in fill_colours(out)  # the kicker, links and pills


def test_the_shipped_theme_looks_up_no_custom_property_per_element() -> None:
    from guidepdf.pdf import fixed_properties
    from guidepdf.themes import builtin_styles

    for sheet in builtin_styles():
        css = sheet.read_text(encoding="utf-8")
        assert "var(" in css  # the properties a user's style may set
        assert "var(" not in fixed_properties(css)  # all in place when nothing can set them


def test_the_shipped_theme_gives_the_same_bytes_as_through_its_custom_properties(tmp_path: Path) -> None:
    # A style sheet of the user's, even an empty one, has the theme's properties looked up as written.
    empty = tmp_path / "empty.css"
    empty.write_text("/* nothing */\n")
    code, output, shipped = render(tmp_path)
    assert code == 0, output
    as_written = tmp_path / "as-written.pdf"
    shipped.rename(as_written)
    code, output, shipped = render(tmp_path, "--style", str(empty))
    assert code == 0, output
    assert shipped.read_bytes() == as_written.read_bytes()


@pytest.mark.parametrize(
    ("css", "expected"),
    [
        (":root { --a: #123456; }\np { color: var(--a); }", ":root { --a: #123456; }\np { color: #123456; }"),
        (":root { --a: red; }\np { color: var(--b); }", ":root { --a: red; }\np { color: var(--b); }"),
        (
            ":root { --a: red; }\np { color: var(--a, blue); }",
            ":root { --a: red; }\np { color: var(--a, blue); }",
        ),
        (
            ":root { --a: red; --b: var(--a); }\np { color: var(--b); }",
            None,
        ),  # one through another: as written
    ],
)
def test_fixed_properties_puts_only_plain_definitions_in_place(css: str, expected: str | None) -> None:
    from guidepdf.pdf import fixed_properties

    assert fixed_properties(css) == (css if expected is None else expected)
