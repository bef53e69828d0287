"""`guidepdf check` finds problems before rendering: a line per finding, JSON for machines, no WeasyPrint."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import SEEDS
from guidepdf import Finding, check_guide, check_guides
from guidepdf.check import check_paths
from guidepdf.cli import main
from guidepdf.currencies import ISO_4217, is_currency

AS_OF = date(2026, 11, 23)

GOOD = """\
---
company: acme
role: engineer
last_updated: 2026-10-01
next_review_due: 2027-04-01
data_quality: high
data_sources: [Levels.fyi]
compensation:
  - region: Berlin
    currency: EUR
    base_low: 80000
    base_high: 100000
    stock_low: 10000
    stock_high: 20000
    bonus_pct: 10
    total_comp_low: 98000
    total_comp_high: 130000
---
# Acme engineer

Plain body.
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def by_code(findings: tuple[Finding, ...]) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    for finding in findings:
        found.setdefault(finding.code, []).append(finding)
    return found


def test_a_complete_guide_has_no_findings(tmp_path: Path) -> None:
    assert check_guide(write(tmp_path, "good.md", GOOD), AS_OF) == ()


def test_seeds_have_no_errors() -> None:
    findings = check_guides(sorted(SEEDS.glob("*.md")), AS_OF)
    assert findings, "the seeds include an overdue review and a region without figures"
    assert [f for f in findings if f.severity == "error"] == []


def test_reference_guide_findings(reference_guide: Path) -> None:
    codes = by_code(check_guide(reference_guide, AS_OF))
    # body-only: the body's table gives London's and Hong Kong's figures (tests/test_figures.py).
    assert set(codes) - {"body-only"} == {"review-overdue", "no-figures"}
    [overdue] = codes["review-overdue"]
    assert overdue.line == 10 and overdue.field == "next_review_due" and overdue.severity == "warning"
    assert "2026-05-23" in overdue.message
    assert [f.field for f in codes["no-figures"]] == ["compensation[1]", "compensation[2]"]
    assert "London" in codes["no-figures"][0].message


def test_schema_error_is_one_finding_with_field_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.md", GOOD.replace("base_low: 80000", "base_low: lots"))
    [finding] = check_guide(path, AS_OF)
    assert (finding.severity, finding.code, finding.field) == ("error", "schema", "compensation[0].base_low")
    assert finding.line == 11
    assert "expected a number, got 'lots'" in finding.message


def test_ranges_totals_currency_and_duplicates(tmp_path: Path) -> None:
    text = GOOD.replace("base_high: 100000", "base_high: 70000").replace("currency: EUR", "currency: EUX")
    text = text.replace("total_comp_low: 98000", "total_comp_low: 150000")
    text = text.replace(
        "---\n# Acme",
        "  - region: berlin\n    currency: EUR\n    base_low: 1\n---\n# Acme",
    )
    codes = by_code(check_guide(write(tmp_path, "bad.md", text), AS_OF))
    low_high = {f.field: f for f in codes["range"]}["compensation[0].base_low"]
    assert low_high.severity == "error"
    assert "compensation[0].total_comp_low" in {f.field for f in codes["range"]}  # 150,000 > 130,000
    assert "80,000" in low_high.message and "70,000" in low_high.message
    total = next(f for f in codes["total"] if f.field == "compensation[0].total_comp_low")
    # 80000 base + 10000 stock + 10% of base
    assert "expected 98,000" in total.message and "base 80,000 + stock 10,000 + bonus 10%" in total.message
    [currency] = codes["currency"]
    assert currency.field == "compensation[0].currency" and "'EUX'" in currency.message
    [duplicate] = codes["duplicate-region"]
    assert duplicate.field == "compensation[1].region" and "compensation[0]" in duplicate.message
    assert duplicate.line == 18


def test_total_within_tolerance_and_unknown_stock(tmp_path: Path) -> None:
    text = GOOD.replace("total_comp_low: 98000", "total_comp_low: 98500")
    assert check_guide(write(tmp_path, "close.md", text), AS_OF) == ()
    # Stock unknown: a total above base + bonus may include it, one below cannot be right.
    cash_only = GOOD.replace("    stock_low: 10000\n    stock_high: 20000\n", "")
    above = cash_only.replace("total_comp_high: 130000", "total_comp_high: 200000")
    assert check_guide(write(tmp_path, "above.md", above), AS_OF) == ()
    below = cash_only.replace("total_comp_high: 130000", "total_comp_high: 100000")
    [finding] = check_guide(write(tmp_path, "below.md", below), AS_OF)
    assert finding.code == "total" and "expected at least 110,000" in finding.message


def test_dates_quality_missing_fields_and_no_figures(tmp_path: Path) -> None:
    text = GOOD.replace("last_updated: 2026-10-01", "last_updated: 2026-12-25")
    text = text.replace("data_quality: high", "data_quality: excellent").replace("company: acme\n", "")
    text = text.replace("data_sources: [Levels.fyi]\n", "")
    text = text.replace(
        "---\n# Acme", "  - region: Paris\n    currency: EUR\n    base_low: null\n---\n# Acme"
    )
    codes = by_code(check_guide(write(tmp_path, "dates.md", text), AS_OF))
    [future] = codes["future-date"]
    assert future.severity == "error" and future.field == "last_updated" and "2026-12-25" in future.message
    assert "excellent" in codes["data-quality"][0].message
    assert sorted(f.field or "" for f in codes["missing-field"]) == ["company", "data_sources"]
    assert all(f.severity == "warning" for f in codes["missing-field"])
    [empty] = codes["no-figures"]
    assert empty.field == "compensation[1]" and "Paris" in empty.message


def test_images_and_removed_html(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "ok.png").write_bytes((SEEDS / "images" / "northwind-comp-bands.png").read_bytes())
    body = """
![fine](img/ok.png)

![gone](img/missing.png)

![escape](../outside.png)

![remote](https://example.com/chart.png)

<script>alert(1)</script>

<p onclick="steal()">click</p>

[mail](javascript:alert(2))

```html
<script>in a code block is only text</script>
```
"""
    path = write(tmp_path, "imgs.md", GOOD + body)
    findings = check_guide(path, AS_OF)
    codes = by_code(findings)
    [missing] = codes["image-missing"]
    assert missing.severity == "error" and "img/missing.png" in missing.message
    assert missing.line == GOOD.count("\n") + 4
    [outside] = codes["image-outside"]
    assert outside.severity == "error" and "../outside.png" in outside.message
    [remote] = codes["image-remote"]
    assert remote.severity == "warning" and "--allow-network" in remote.message
    removed = [f.message for f in codes["removed-html"]]
    assert "will be removed: <script>" in removed
    assert any("onclick" in m for m in removed)
    assert any("javascript:alert(2)" in m for m in removed)
    script = next(f for f in codes["removed-html"] if "<script>" in f.message)
    assert script.line == GOOD.count("\n") + 10
    assert "image-remote" not in by_code(check_guide(path, AS_OF, allow_network=True))


def test_plain_document_gets_one_missing_front_matter_warning(tmp_path: Path) -> None:
    [finding] = check_guide(write(tmp_path, "plain.md", "# Just notes\n\nNo front matter.\n"), AS_OF)
    assert (finding.code, finding.severity, finding.field) == ("missing-field", "warning", None)
    assert "no front matter" in finding.message and "compensation" in finding.message


def test_body_markdown_cannot_stall_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Python-Markdown is quadratic on long runs of '['; check reports such a body instead of waiting.
    monkeypatch.setattr("guidepdf.check.BODY_SECONDS", 0.5)
    path = write(tmp_path, "brackets.md", GOOD + "[" * 30000 + "\n")
    [finding] = check_guide(path, AS_OF)
    assert (finding.code, finding.severity, finding.field) == ("body-too-complex", "error", "body")
    assert finding.line == 19 and "0.5 s" in finding.message  # where the body starts
    assert check_guide(write(tmp_path, "fine.md", GOOD), AS_OF) == (), "the timer is gone afterwards"


def test_huge_declared_image_is_an_error(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("1", (20000, 20000)).save(tmp_path / "bomb.png")
    path = write(tmp_path, "bomb.md", GOOD + "\n![bomb](bomb.png)\n")
    [finding] = check_guide(path, AS_OF)
    assert finding.code == "image-refused" and "400,000,000 pixels" in finding.message


def test_currency_list() -> None:
    assert {"USD", "EUR", "GBP", "JPY", "CHF", "HKD", "SGD", "INR", "ZWG", "XCG"} <= ISO_4217
    assert not {"HRK", "ZWL", "EUX", "usd"} & ISO_4217
    assert is_currency(" usd ") and not is_currency("US$")
    assert all(len(code) == 3 and code.isalpha() and code.isupper() for code in ISO_4217)


def test_check_paths_expands_folders_and_reports_missing(tmp_path: Path) -> None:
    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", "---\ncompensation: [\n---\n")
    result = check_paths([str(tmp_path), str(tmp_path / "nope.md")], AS_OF)
    assert len(result.checked) == 2 and result.missing == (str(tmp_path / "nope.md"),)
    [error] = result.errors
    assert error.file.endswith("b.md") and error.code == "schema"


# --- the command -----------------------------------------------------------------------------


@pytest.fixture
def bad_folder(tmp_path: Path) -> Path:
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, "warn.md", GOOD.replace("data_quality: high", "data_quality: great"))
    write(tmp_path, "bad.md", GOOD.replace("currency: EUR", "currency: EUX"))
    return tmp_path


def test_cli_text_output_and_exit_status(bad_folder: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["check", str(bad_folder), "--as-of", "2026-11-23"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert (
        f"{bad_folder / 'bad.md'}:10: compensation[0].currency: error: 'EUX' is not an ISO 4217 currency code"
        in lines
    )
    assert any(line.startswith(f"{bad_folder / 'warn.md'}:6: data_quality: warning: ") for line in lines)
    assert len(lines) == 2
    assert "3 checked, 1 errors, 1 warnings" in result.stderr
    assert "Traceback" not in result.output

    (bad_folder / "bad.md").unlink()
    relaxed = runner.invoke(main, ["check", str(bad_folder), "--as-of", "2026-11-23"])
    assert relaxed.exit_code == 0 and "data_quality: warning" in relaxed.stdout
    strict = runner.invoke(main, ["check", str(bad_folder), "--strict", "--as-of", "2026-11-23"])
    assert strict.exit_code == 1


def test_cli_json_output(bad_folder: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(bad_folder), "--format", "json", "--as-of", "2026-11-23"])
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert {tuple(sorted(row)) for row in rows} == {("code", "field", "file", "line", "message", "severity")}
    assert {(Path(r["file"]).name, r["severity"], r["code"]) for r in rows} == {
        ("bad.md", "error", "currency"),
        ("warn.md", "warning", "data-quality"),
    }


def test_cli_as_of_decides_overdue(reference_guide: Path) -> None:
    early = CliRunner().invoke(main, ["check", str(reference_guide), "--as-of", "2026-03-01", "--strict"])
    assert "review-overdue" not in early.stdout and "review overdue" not in early.stdout
    late = CliRunner().invoke(main, ["check", str(reference_guide), "--as-of", "2026-11-23"])
    assert "next_review_due: warning: review overdue" in late.stdout and late.exit_code == 0


def test_cli_usage_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(tmp_path / "none")])
    assert result.exit_code == 2 and "no guides selected" in result.stderr
    bad_date = CliRunner().invoke(main, ["check", str(SEEDS), "--as-of", "soon"])
    assert bad_date.exit_code == 2


def test_check_does_not_import_weasyprint(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from guidepdf.cli import main\n"
        "result = CliRunner().invoke(main, ['check', sys.argv[1], '--as-of', '2026-11-23'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert '12 checked' in result.stderr, result.stderr\n"
        "print('weasyprint' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "seeds")], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_cli_takes_as_of_from_the_configuration_file(
    reference_guide: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "guidepdf.toml").write_text("as_of = 2026-03-01\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    configured = CliRunner().invoke(main, ["check", str(reference_guide), "--strict"])
    assert "review overdue" not in configured.stdout and "no figures" in configured.stdout
    typed = CliRunner().invoke(main, ["check", str(reference_guide), "--as-of", "2026-11-23"])
    assert "review overdue" in typed.stdout
