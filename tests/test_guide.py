"""Loader units: every field optional, types checked, unknown fields kept, encodings tolerated."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from guidepdf import GuideError, load_guide, parse_guide


def write(tmp_path: Path, text: str | bytes, name: str = "g.md") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_reference_guide_fields(reference_guide: Path) -> None:
    guide = load_guide(reference_guide)
    assert guide.title == "Jane Street — ML/AI Engineer"
    assert guide.slug == "jane-street-ml-ai-engineer"
    assert guide.last_updated == date(2026, 2, 23)
    assert guide.next_review_due == date(2026, 5, 23)
    assert guide.review_overdue(date(2026, 11, 23))
    assert not guide.review_overdue(date(2026, 5, 1))
    assert [c.region for c in guide.compensation] == ["New York (HQ)", "London", "Hong Kong"]
    ny, london, _ = guide.compensation
    assert (ny.total_comp_low, ny.total_comp_high, ny.currency) == (525000, 775000, "USD")
    assert ny.stock_low is None and not london.has_figures
    assert guide.headline is ny
    assert guide.data_sources == ("Levels.fyi", "Blind")
    assert guide.tags[:2] == ("63% Pay Hike", "Alpha Architect") and len(guide.tags) == 9
    assert guide.body.startswith("### ML/AI Engineer | Jane Street")


def test_no_front_matter_takes_first_heading(tmp_path: Path) -> None:
    guide = load_guide(write(tmp_path, "Intro line\n\n## Offer *Notes* for `Acme`\n\nText"))
    assert guide.title == "Offer Notes for Acme"
    assert guide.compensation == () and guide.meta == {}
    assert guide.slug == "g"


def test_no_front_matter_no_heading_uses_file_name(tmp_path: Path) -> None:
    assert load_guide(write(tmp_path, "just text", "acme-offer_notes.md")).title == "Acme Offer Notes"


def test_empty_front_matter_and_empty_file(tmp_path: Path) -> None:
    assert load_guide(write(tmp_path, "---\n---\nBody")).body == "Body"
    assert load_guide(write(tmp_path, "", "empty.md")).title == "Empty"


def test_unknown_fields_are_kept(tmp_path: Path) -> None:
    guide = load_guide(write(tmp_path, "---\ncompany: acme\nhiring_notes: {panel: 4}\n---\nx"))
    assert guide.extra == {"hiring_notes": {"panel": 4}}
    assert guide.meta["hiring_notes"] == {"panel": 4}


def test_bom_and_crlf(tmp_path: Path) -> None:
    text = (
        "\ufeff---\r\ncompany: acme\r\nrole: sre\r\nlast_updated: 2026-01-02\r\n---\r\n# Hi\r\n\r\nBody\r\n"
    )
    guide = load_guide(write(tmp_path, text))
    assert guide.company == "acme" and guide.role_display == "Sre"
    assert guide.last_updated == date(2026, 1, 2)
    assert "\r" not in guide.body and guide.body.startswith("# Hi")


def test_numbers_as_text_and_dates_as_text(tmp_path: Path) -> None:
    guide = load_guide(
        write(
            tmp_path,
            "---\nlast_updated: '2026-03-04'\ncompensation:\n"
            "  - {region: X, base_low: '120,000', base_high: 150000.0, currency: usd}\n---\n",
        )
    )
    comp = guide.compensation[0]
    assert (comp.base_low, comp.base_high, comp.currency) == (120000, 150000, "USD")
    assert guide.last_updated == date(2026, 3, 4)


def test_error_names_field_path_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "---\ncompany: a\ncompensation:\n  - region: A\n  - region: B\n    total_comp_low: abc\n---\n",
    )
    with pytest.raises(GuideError) as info:
        load_guide(path)
    err = info.value
    assert (err.field, err.line) == ("compensation[1].total_comp_low", 6)
    assert str(err) == f"{path}: line 6: compensation[1].total_comp_low: expected a number, got 'abc'"


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("company: true", "company: expected text, got true"),
        ("last_updated: 20260101", "last_updated: expected a date (YYYY-MM-DD), got 20260101"),
        ("compensation: [{base_low: .nan}]", "compensation[0].base_low: expected a number, got nan"),
        ("compensation: [{base_low: [1]}]", "compensation[0].base_low: expected a number, got a list"),
        ("level_mapping: 5", "level_mapping: expected a mapping, got 5"),
        ("x: !!binary aGk=\ny: !!set {a}\nz: !!python/name:os.system", "tag not allowed"),
    ],
)
def test_wrong_types(tmp_path: Path, yaml_text: str, message: str) -> None:
    with pytest.raises(
        GuideError,
        match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)"),
    ):
        load_guide(write(tmp_path, f"---\n{yaml_text}\n---\nBody"))


def test_parse_guide_from_text_matches_file(reference_guide: Path) -> None:
    from_file = load_guide(reference_guide)
    from_text = parse_guide(reference_guide.read_text(encoding="utf-8"), reference_guide)
    assert from_text == from_file


def test_missing_file_is_a_guide_error(tmp_path: Path) -> None:
    with pytest.raises(GuideError, match="cannot read"):
        load_guide(tmp_path / "nope.md")
