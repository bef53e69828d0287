"""The data tools: `fill` (byte-exact round trips), `list`, `schema`, `new`, `--exclude`, the ignore file."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from conftest import DATA, SEEDS
from guidepdf.check import check_guide
from guidepdf.cli import main
from guidepdf.guide import load_guide
from guidepdf.inputs import expand_inputs

REAL = DATA / "format" / "000_549dec0afae519e7.txt"


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


# -- fill --------------------------------------------------------------------------------------------


def test_fill_writes_only_the_null_figures(tmp_path: Path) -> None:
    guide = tmp_path / "jane.txt"
    shutil.copy(REAL, guide)
    before = guide.read_bytes()
    result = run("fill", str(guide))
    assert result.exit_code == 0, result.output
    after = guide.read_bytes()
    old, new = before.decode().splitlines(), after.decode().splitlines()
    # Only null lines changed, and lines were only added inside the regions' figures.
    changed = [(a, b) for a, b in zip(old[:23], new[:23], strict=True) if a != b]
    assert changed == [("    base_low: null", "    base_low: 195000")]
    body_at = before.index(b"\n---\n", 4)
    assert after.endswith(before[body_at:])  # the body, byte for byte
    loaded = load_guide(guide)
    london, hong_kong = loaded.compensation[1], loaded.compensation[2]
    assert (london.base_low, london.base_high, london.bonus_low, london.total_comp_high) == (
        195_000,
        275_000,
        215_000,
        610_000,
    )
    assert (hong_kong.base_low, hong_kong.total_comp_low, hong_kong.currency) == (1_950_000, 4_100_000, "HKD")
    assert london.stock_low is None and london.bonus_pct is None  # the body has no stock: still null
    assert [k for k in loaded.meta] == [k for k in load_guide(REAL).meta]  # same key order
    assert not any(f.code == "body-only" for f in check_guide(guide, date(2026, 3, 1)))
    assert run("fill", str(guide)).exit_code == 0 and guide.read_bytes() == after  # idempotent


def test_fill_keeps_comments_quoting_crlf_bom_and_non_null_values(tmp_path: Path) -> None:
    text = (
        "\ufeff---\r\n"
        "# who: the data team\r\n"
        'company: "acme"   # quoted on purpose\r\n'
        "compensation:\r\n"
        "  - region: 'London'\r\n"
        "    base_low: ~      # unknown yet\r\n"
        "    base_high: 280000\r\n"
        "    total_comp_low:\r\n"
        "    currency: GBP\r\n"
        "---\r\n"
        "| Region | Base Salary | Total Comp |\r\n"
        "|---|---|---|\r\n"
        "| **London** | £195K - £275K | £410K - £610K |\r\n"
    )
    guide = tmp_path / "g.md"
    guide.write_bytes(text.encode("utf-8"))
    result = run("fill", str(guide))
    assert result.exit_code == 0, result.output
    expected = (
        text.replace("base_low: ~      # unknown yet", "base_low: 195000      # unknown yet")
        .replace("total_comp_low:\r\n", "total_comp_low: 410000\r\n    total_comp_high: 610000\r\n")
        .encode("utf-8")
    )
    assert guide.read_bytes() == expected  # base_high 280000 is not the body's 275000, and stays


def test_fill_dry_run_prints_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    guide = tmp_path / "jane.txt"
    shutil.copy(REAL, guide)
    before = guide.read_bytes()
    result = run("fill", "--dry-run", str(guide))
    assert result.exit_code == 0
    assert guide.read_bytes() == before
    assert list(tmp_path.iterdir()) == [guide]
    assert result.stdout.startswith(f"--- {guide}\n+++ {guide}\n@@ ")
    assert "-    base_low: null\n-    base_high: null\n+    base_low: 195000\n" in result.stdout
    assert "+    bonus_low: 2150000\n" in result.stdout
    # The diff applies: patch(1) turns the file into what fill would write.
    run("fill", str(guide))
    filled = guide.read_bytes()
    guide.write_bytes(before)
    diff = result.stdout.replace(str(guide), "jane.txt")
    subprocess.run(["patch", "-s", "-p0"], input=diff, text=True, check=True, cwd=tmp_path)
    assert guide.read_bytes() == filled


def test_fill_leaves_other_currencies_and_bad_guides_alone(tmp_path: Path) -> None:
    other = tmp_path / "other.md"
    other.write_text(
        "---\ncompensation:\n  - region: Paris\n    base_low: null\n    currency: EUR\n---\n"
        "| Region | Base Salary |\n|---|---|\n| Paris | £80K - £90K |\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.md"
    bad.write_text("---\ncompany: [a\n---\n", encoding="utf-8")
    before = other.read_bytes()
    result = run("fill", str(other), str(bad))
    assert result.exit_code == 1
    assert other.read_bytes() == before
    assert (
        f"warning: {other}: compensation[0]: currency EUR, the body's table is in GBP: left alone"
        in result.stderr
    )
    assert any(line.startswith(f"error: {bad}: line ") for line in result.stderr.splitlines())


# -- list, schema, new -------------------------------------------------------------------------------


def test_list_formats(tmp_path: Path) -> None:
    guide = tmp_path / "jane.txt"
    shutil.copy(REAL, guide)
    (tmp_path / "bad.md").write_text("---\ncompensation: [\n---\n", encoding="utf-8")
    rows = json.loads(run("list", str(tmp_path), "--format", "json", "--as-of", "2026-11-23").stdout)
    assert [r["file"] for r in rows] == [str(tmp_path / "bad.md"), str(guide)]
    assert rows[0]["check"] == "errors"
    jane = rows[1]
    assert (jane["company"], jane["role"], jane["data_quality"]) == ("Jane Street", "ML/AI Engineer", "high")
    assert (jane["last_updated"], jane["next_review_due"], jane["overdue"]) == (
        "2026-02-23",
        "2026-05-23",
        True,
    )
    assert (jane["check"], jane["errors"]) == ("warnings", 0)
    table = list(csv.DictReader(io.StringIO(run("list", str(guide), "--format", "csv").stdout)))
    assert table[0]["company"] == "Jane Street" and table[0]["overdue"] == "yes"
    text = run("list", str(guide), "--as-of", "2026-11-23").stdout.splitlines()
    assert text[0].split()[:3] == ["file", "company", "role"]
    assert "Jane Street" in text[1] and "warnings" in text[1]


def test_list_csv_cells_never_run_as_formulas(tmp_path: Path) -> None:
    (tmp_path / "g.md").write_text("---\ncompany_display: '=HYPERLINK(\"x\")'\n---\nBody\n", encoding="utf-8")
    [row] = list(csv.DictReader(io.StringIO(run("list", str(tmp_path), "--format", "csv").stdout)))
    assert row["company"] == '\'=HYPERLINK("x")'


def _as_json(value: object) -> object:
    """What a YAML language server sees: dates are strings in JSON."""
    return json.loads(json.dumps(value, default=str))


def _front_matter(path: Path) -> object:
    text = path.read_text(encoding="utf-8")
    return _as_json(yaml.safe_load(text.split("\n---", 1)[0].removeprefix("---")))


def test_schema_accepts_every_sample_and_the_real_guide_and_rejects_wrong_types() -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for path in [*sorted(SEEDS.glob("*.md")), REAL]:
        errors = list(validator.iter_errors(_front_matter(path)))
        assert errors == [], (path, errors[0].message if errors else "")
    real = _front_matter(REAL)
    assert isinstance(real, dict)
    for field, wrong in [
        ("company", ["a", "list"]),
        ("last_updated", "23 Feb 2026"),
        ("data_sources", {"a": "mapping"}),
        ("compensation", "lots"),
        ("data_quality", "excellent"),
    ]:
        assert not validator.is_valid({**real, field: wrong}), field
    region = dict(real["compensation"][0])
    for key, wrong in [("base_low", "abc"), ("base_low", -5), ("currency", 12), ("total_comp_high", True)]:
        assert not validator.is_valid({**real, "compensation": [{**region, key: wrong}]}), key
    assert run("schema").stdout == result.stdout  # stable bytes


def test_readme_documents_every_schema_field() -> None:
    schema = json.loads(run("schema").stdout)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    region = schema["properties"]["compensation"]["anyOf"][1]["properties"]
    for name in [*schema["properties"], *region]:
        assert f"| `{name}` |" in readme, name
    assert "yaml-language-server: $schema=" in readme


def test_new_writes_a_guide_that_passes_check(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["new", str(tmp_path), "--company", "Jane Street", "--role", "ML/AI Engineer"]
    )
    assert result.exit_code == 0, result.output
    path = tmp_path / "jane-street-ml-ai-engineer.md"
    guide = load_guide(path)
    assert (guide.company, guide.company_display, guide.role_display) == (
        "jane-street",
        "Jane Street",
        "ML/AI Engineer",
    )
    schema = json.loads(run("schema").stdout)
    for name in schema["properties"]:
        assert name in guide.meta, name  # every field
    assert check_guide(path) == ()
    again = run("new", str(path))
    assert again.exit_code == 2 and "already exists" in again.stderr
    odd = run("new", str(tmp_path / "odd.md"), "--company", 'A: "B" # {c}', "--role", "- x")
    assert odd.exit_code == 0
    assert load_guide(tmp_path / "odd.md").company_display == 'A: "B" # {c}'


# -- leaving files out -------------------------------------------------------------------------------


def test_exclude_and_ignore_file(tmp_path: Path) -> None:
    guides = tmp_path / "guides"
    (guides / "drafts").mkdir(parents=True)
    for name in ("a.md", "README.md", "notes.txt", "drafts/b.md", "c.md"):
        shutil.copy(REAL, guides / name)
    (guides / ".guidepdfignore").write_text(
        "# not guides\nREADME.md\nnotes.txt\n\ndrafts/\n", encoding="utf-8"
    )
    assert [p.name for p in expand_inputs([guides]).paths] == ["a.md", "c.md"]
    assert [p.name for p in expand_inputs([guides], ["c.*"]).paths] == ["a.md"]
    assert expand_inputs([guides / "README.md"]).paths == (guides / "README.md",)  # named: taken
    result = run("check", str(guides), "--exclude", "a.md", "--as-of", "2026-03-01")
    assert result.stderr.strip().splitlines()[-1].startswith("1 checked")
    listed = json.loads(run("list", str(guides), "--format", "json", "--exclude", "c.md").stdout)
    assert [Path(row["file"]).name for row in listed] == ["a.md"]
    nothing = run("render", str(guides), "--exclude", "*.md", "-o", str(tmp_path / "out"))
    assert nothing.exit_code == 2 and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "command", [["check", "seeds"], ["list", "seeds"], ["schema"], ["fill", "--dry-run", "seeds"]]
)
def test_data_commands_never_import_weasyprint(command: list[str]) -> None:
    code = (
        "import sys\nfrom guidepdf.cli import main\n"
        "try:\n    main(sys.argv[1:], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "assert 'weasyprint' not in sys.modules, 'weasyprint imported'\n"
        "assert 'pikepdf' not in sys.modules, 'pikepdf imported'\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code, *command], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
