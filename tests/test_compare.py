"""Sorting by pay compares one currency: USD as given, the guide's own USD figures, or dated user rates."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from conftest import SEEDS, pdfinfo, pdftotext
from guidepdf.cli import main
from guidepdf.config import ConfigError, load_config
from guidepdf.guide import load_guide
from guidepdf.packet import sort_guides
from guidepdf.rates import Rates, convert

RATES = Rates(date(2026, 11, 2), "Example reference rates", {"SGD": 0.77, "EUR": 1.08, "GBP": 1.27})


def stems(guides) -> list[str]:
    return [g.path.stem.split("-")[0] for g in guides]


def seeds():
    return [load_guide(p) for p in sorted(SEEDS.glob("*.md"))]


def test_yen_is_not_compared_with_dollars_as_if_they_were_the_same() -> None:
    kaiyo = load_guide(SEEDS / "kaiyo-logistics-platform-engineer.md")
    converted = convert(kaiyo, "total_comp")
    assert (converted.original, converted.currency, converted.how) == (15_300_000, "JPY", "guide")
    assert converted.value == 102_000  # the guide's own "($...)" equivalent
    order = stems(sort_guides(seeds(), "-total_comp"))
    assert order.index("aurelian") < order.index("kaiyo")  # $720K before ¥15.3M (~$102K)
    # No rate for SGD, EUR or GBP: those guides come after every compared one, by title.
    assert order[-3:] == ["brightmoor", "kestrel", "saffron"]
    assert order[:3] == ["aurelian", "halden", "tessera"]


def test_rates_from_the_configuration_compare_the_rest() -> None:
    order = stems(sort_guides(seeds(), "total_comp", RATES))
    assert order[0] == "kaiyo"  # $102K
    assert order.index("kestrel") < order.index("saffron")  # €109K ≈ $118K < £103K ≈ $131K
    assert order[-1] == "aurelian"


def test_rates_table_is_read_and_checked(tmp_path: Path) -> None:
    config = tmp_path / "guidepdf.toml"
    config.write_text(
        '[rates]\ndate = 2026-11-02\nsource = "ECB reference rates"\nGBP = 1.27\nJPY = 0.0066\n', "utf-8"
    )
    rates = load_config(config).rates
    assert rates is not None
    assert (rates.date, rates.source, rates.rates) == (
        date(2026, 11, 2),
        "ECB reference rates",
        {"GBP": 1.27, "JPY": 0.0066},
    )
    for bad, message in [
        ("[rates]\nGBP = 1.27\n", "needs a date and a source"),
        ('[rates]\ndate = 2026-11-02\nsource = "x"\nGBX = 1.27\n', "GBX: not an ISO 4217 currency code"),
        ('[rates]\ndate = 2026-11-02\nsource = "x"\nGBP = -1\n', "GBP: expected a positive number of USD"),
    ]:
        config.write_text(bad, "utf-8")
        with pytest.raises(ConfigError, match=message):
            load_config(config)


NAMES = (
    "aurelian-systems-engineering-manager.md",
    "kaiyo-logistics-platform-engineer.md",
    "brightmoor-analytics-data-scientist.md",
)


@pytest.mark.slow
def test_packet_overview_names_the_comparison_currency_and_group_covers(tmp_path: Path, monkeypatch) -> None:
    guides = tmp_path / "guides"
    guides.mkdir()
    for name in NAMES:
        shutil.copy(SEEDS / name, guides / name)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    args = ["--as-of", "2026-11-23", "--jobs", "2"]
    out = tmp_path / "sorted.pdf"
    result = runner.invoke(main, ["packet", str(guides), "-o", str(out), "--sort", "-total_comp", *args])
    assert result.exit_code == 0, result.output
    assert "warning: --sort total_comp: no USD rate for SGD" in result.stderr
    text = " ".join(pdftotext(out).split())
    assert "Sorted by total comp in USD, converted with the guides' own USD figures" in text
    assert "no USD rate for SGD: those guides follow the others, by title" in text
    contents = text.split("Contents", 1)[1]
    assert contents.index("Aurelian") < contents.index("Kaiyo") < contents.index("Brightmoor")

    (tmp_path / "guidepdf.toml").write_text(
        '[rates]\ndate = 2026-11-02\nsource = "Example reference rates"\nSGD = 0.77\n', "utf-8"
    )
    result = runner.invoke(main, ["packet", str(guides), "-o", str(out), "--sort", "-total_comp", *args])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    text = " ".join(pdftotext(out).split())
    assert "rates from Example reference rates, 2026-11-02" in text
    contents = text.split("Contents", 1)[1]
    assert contents.index("Aurelian") < contents.index("Brightmoor") < contents.index("Kaiyo")

    folder = tmp_path / "by-company"
    result = runner.invoke(main, ["packet", str(guides), "-o", str(folder), "--group-by", "company", *args])
    assert result.exit_code == 0, result.output
    pdf = folder / "aurelian-systems.pdf"
    assert "Salary negotiation packet: Aurelian Systems" in pdfinfo(pdf)["Title"]
    brief = tmp_path / "brief.pdf"
    runner.invoke(main, ["render", str(guides / NAMES[0]), "-o", str(brief), *args])
    # One guide: the cover, then the brief; no contents page.
    assert int(pdfinfo(pdf)["Pages"]) == int(pdfinfo(brief)["Pages"]) + 1
    first = pdftotext(pdf).split("\f")[0]
    assert "Aurelian Systems" in first and "Contents" not in pdftotext(pdf)
    top = [item.title for item in PdfReader(pdf).outline if not isinstance(item, list)]
    assert top == ["Cover", load_guide(guides / NAMES[0]).title]
