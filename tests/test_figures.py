"""The body's compensation table as data: read exactly, compared with the front matter, shown in briefs.

Each `tests/data/check/x.md` gives exactly the lines in `x.findings` from `guidepdf check`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DATA, SEEDS, pdftotext
from guidepdf.cli import main
from guidepdf.figures import parse_amount, read_body_figures, with_body_figures
from guidepdf.guide import load_guide

REAL = DATA / "format" / "000_549dec0afae519e7.txt"
CHECK = DATA / "check"
CASES = sorted(p.stem for p in CHECK.glob("*.md"))


@pytest.mark.parametrize(
    ("text", "low", "high", "currency", "equivalent"),
    [
        ("$250K - $350K", 250_000, 350_000, "USD", None),
        ("£195K - £275K ($245K - $345K)", 195_000, 275_000, "GBP", ("USD", 245_000, 345_000)),
        ("HK$1.95M - HK$2.70M ($250K - $346K)", 1_950_000, 2_700_000, "HKD", ("USD", 250_000, 346_000)),
        ("HK$4.10M - HK$6.00M", 4_100_000, 6_000_000, "HKD", None),
        ("CHF 210K - CHF 260K", 210_000, 260_000, "CHF", None),
        ("¥17.0M – ¥22.0M", 17_000_000, 22_000_000, "JPY", None),
        ("S$110K - S$150K", 110_000, 150_000, "SGD", None),
        ("€90K", 90_000, 90_000, "EUR", None),
        ("₹28L - ₹42L ($34K - $50K)", 2_800_000, 4_200_000, "INR", ("USD", 34_000, 50_000)),
        ("$760K - $1.09M", 760_000, 1_090_000, "USD", None),
        ("$250K - 350K", 250_000, 350_000, "USD", None),
        ("250,000 - 300,000 USD", 250_000, 300_000, "USD", None),
        ("$1M+", 1_000_000, None, "USD", None),
    ],
)
def test_amounts_are_read_exactly(text, low, high, currency, equivalent) -> None:
    amount = parse_amount(text)
    assert (amount.low, amount.high, amount.currency, amount.equivalent) == (low, high, currency, equivalent)


@pytest.mark.parametrize("text", ["lots", "$250K - £300K", "$300K - $200K", "about $250K", "£1.2.3M"])
def test_unreadable_cells_are_refused_not_guessed(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        parse_amount(text)


def test_the_real_guides_table() -> None:
    guide = load_guide(REAL)
    figures = read_body_figures(guide.body, guide.body_line)
    assert [(r.region, r.line, r.currency) for r in figures.regions] == [
        ("New York (HQ)", 57, "USD"),
        ("London", 58, "GBP"),
        ("Hong Kong", 59, "HKD"),
    ]
    assert figures.problems == ()
    london = figures.find("london")
    assert london is not None
    assert london.figures == {
        "base_low": 195_000,
        "base_high": 275_000,
        "bonus_low": 215_000,
        "bonus_high": 335_000,
        "total_comp_low": 410_000,
        "total_comp_high": 610_000,
    }
    assert london.amounts["base"].equivalent == ("USD", 245_000, 345_000)
    hong_kong = figures.find("Hong Kong")
    assert hong_kong is not None and hong_kong.figures["total_comp_low"] == 4_100_000
    assert figures.find("New York") is figures.regions[0]  # "(HQ)" notes are ignored when matching


def test_headers_in_any_order_and_level_tables_are_not_regions() -> None:
    body = (
        "| Level | Base Salary |\n|---|---|\n| L5 | $200K - $250K |\n\n"
        "| Region | Total Comp | Stock (per year) | Base Salary | Bonus |\n|---|---|---|---|---|\n"
        "| **Berlin** | €150K - €200K | €20K - €40K | €110K - €140K | 10% target |\n"
    )
    figures = read_body_figures(body, 10)
    [berlin] = figures.regions
    assert berlin.line == 16
    assert berlin.figures == {
        "total_comp_low": 150_000,
        "total_comp_high": 200_000,
        "stock_low": 20_000,
        "stock_high": 40_000,
        "base_low": 110_000,
        "base_high": 140_000,
        "bonus_pct": 10,
    }


def test_every_seed_table_is_read_without_problems() -> None:
    for path in sorted(SEEDS.glob("*.md")):
        guide = load_guide(path)
        figures = read_body_figures(guide.body, guide.body_line)
        assert figures.regions, path
        assert figures.problems == (), path


def test_null_regions_take_the_bodys_figures_marked_as_such() -> None:
    guide = load_guide(REAL)
    regions = with_body_figures(guide)
    assert [r.origin for r in regions] == ["front matter", "body", "body"]
    assert regions[0] is guide.compensation[0]
    assert (regions[1].currency, regions[1].base_low, regions[1].total_comp_high) == ("GBP", 195_000, 610_000)


@pytest.mark.parametrize("name", CASES)
def test_check_findings_pair(name: str, monkeypatch) -> None:
    monkeypatch.chdir(CHECK)
    result = CliRunner().invoke(main, ["check", f"{name}.md", "--as-of", "2026-11-23"])
    expected = (CHECK / f"{name}.findings").read_text(encoding="utf-8").splitlines()
    assert result.stdout.splitlines() == expected
    errors = [line for line in expected if ": error: " in line]
    assert result.exit_code == (1 if errors else 0)


def test_check_pairs_are_paired() -> None:
    assert {p.stem for p in CHECK.glob("*.findings")} == set(CASES)


def test_real_guide_warns_per_null_region_with_figures_and_line() -> None:
    result = CliRunner().invoke(main, ["check", str(REAL), "--as-of", "2026-03-01"])
    lines = [line for line in result.stdout.splitlines() if "in the front matter, but the body" in line]
    assert len(lines) == 2
    assert lines[0].startswith(f"{REAL}:22: compensation[1]: warning: region 'London'")
    assert "£195K - £275K" in lines[0] and "(line 58)" in lines[0]
    assert "HK$1.95M - HK$2.70M" in lines[1] and "(line 59)" in lines[1]
    assert result.exit_code == 0


# -- render honours check ----------------------------------------------------------------------------

GOOD = (CHECK / "body-only.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("base_low: 250000", "base_low: 450000"), "base_low 450,000 is above base_high 350,000"),
        (
            ("total_comp_low: 525000", "total_comp_low: 100000\n    bonus_low: 10000"),
            "total 100,000 does not add up",
        ),
        (("currency: USD", "currency: USX"), "'USX' is not an ISO 4217 currency code"),
        (("# Acme engineer", "# Acme engineer\n\n![Chart](missing.png)"), "image missing.png does not exist"),
        (("base_low: 250000", "base_low: 200000"), "disagrees with the body's $250K - $350K"),
    ],
)
def test_render_refuses_a_guide_with_check_errors(change, expected, tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text(GOOD.replace(*change), encoding="utf-8")
    good = tmp_path / "good.md"
    good.write_text(GOOD, encoding="utf-8")
    out = tmp_path / "out"
    args = ["render", str(bad), str(good), "-o", str(out), "--as-of", "2026-11-23"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: {bad}: line ")
    assert expected in error and "--no-check" in error
    assert len(list(out.glob("*.pdf"))) == 1  # the good one
    assert "Traceback" not in result.output


@pytest.mark.parametrize("text", ["", "  \n\n\t\n"])
def test_render_refuses_an_empty_file(text: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["render", str(empty), "-o", str(tmp_path / "empty.pdf")])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"error: {empty}: line 1: the file is empty: nothing to render (--no-check renders anyway)"
    )
    assert not (tmp_path / "empty.pdf").exists()


def test_no_check_renders_anyway(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text(GOOD.replace("# Acme engineer", "# Acme engineer\n\n![Chart](missing.png)"), "utf-8")
    out = tmp_path / "bad.pdf"
    result = CliRunner().invoke(main, ["render", str(bad), "-o", str(out), "--no-check"])
    assert result.exit_code == 0, result.output
    assert "Chart" in pdftotext(out)  # the missing image's alt text, as asked


def test_brief_shows_body_figures_marked_from_the_guides_text(tmp_path: Path) -> None:
    guide = tmp_path / "jane-street.txt"
    shutil.copy(REAL, guide)
    out = tmp_path / "brief.pdf"
    result = CliRunner().invoke(main, ["render", str(guide), "-o", str(out), "--as-of", "2026-03-01"])
    assert result.exit_code == 0, result.output
    text = " ".join(pdftotext(out).split())
    assert "£195K–£275K" in text and "HK$4.10M–HK$6.00M" in text
    assert text.count("from the guide’s text") >= 1 and text.count("the guide’s") >= 2  # London, Hong Kong
    assert "No figures in the guide's data" not in text


# -- check at scale: the body's Markdown is converted only when it can find something ----------------

MARKDOWN_BITS = st.sampled_from(
    [
        "[",
        "]",
        "(",
        ")",
        "!",
        "*",
        "_",
        "`",
        "#",
        "-",
        ":",
        ">",
        "&",
        "%",
        "\\",
        "\n",
        " ",
        "    ",
        "|",
        "---",
        "1.",
        "[^1]",
        "[^1]: note",
        "https://x.org",
        "mailto:a@b",
        "javascript:x",
        "data:x",
        "&#106;",
        "page.md",
        "#top",
        "a",
        "B",
        "|---|---|",
        "```",
        "~~~",
        "[a]: ",
        "<",
        "img",
    ]
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MARKDOWN_BITS, max_size=40).map("".join))
def test_skipped_bodies_have_nothing_to_report(body: str) -> None:
    from guidepdf.check import _scan_body, needs_scan
    from guidepdf.markup import MAX_NESTING, nesting_depth, sanitize

    if not needs_scan(body):
        scan = _scan_body(body)
        assert (scan.images, scan.removed_tags, scan.removed_attributes, scan.removed_links) == (
            (),
            (),
            (),
            (),
        )
        assert nesting_depth(sanitize(scan.html)) <= MAX_NESTING


def test_every_sample_body_scan_agrees_with_the_fast_path() -> None:
    from guidepdf.check import _scan_body, needs_scan

    for path in [*sorted(SEEDS.glob("*.md")), REAL, *sorted(CHECK.glob("*.md"))]:
        body = load_guide(path).body
        if not needs_scan(body):
            scan = _scan_body(body)
            assert (scan.images, scan.removed_tags, scan.removed_attributes, scan.removed_links) == (
                (),
                (),
                (),
                (),
            ), path
