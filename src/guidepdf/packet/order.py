"""Which guides go in which packet, in which order: field values, sorting and grouping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..guide import Guide
from ..rates import MONEY_FIELDS, Rates, sort_by_money

#: Fields --sort and --group-by understand besides any front-matter key.
DERIVED_FIELDS = ("total_comp", "base", "currency", "region", "review", "source")


_GUIDE_FIELDS = {f.name for f in fields(Guide)} - {"source", "body", "meta", "extra", "body_line"}


def field_value(guide: Guide, name: str) -> Any:
    """A guide's value for `name`: a Guide field, a derived one (`total_comp`…), else front matter."""
    headline = guide.headline
    if name == "total_comp":
        return None if headline is None else (headline.total_comp_high or headline.total_comp_low)
    if name == "base":
        return None if headline is None else (headline.base_high or headline.base_low)
    if name in ("currency", "region"):
        return None if headline is None else getattr(headline, name)
    if name == "source":
        return str(guide.path)
    if name == "review":
        return guide.next_review_due
    if name in _GUIDE_FIELDS:
        value = getattr(guide, name)
        return str(value) if isinstance(value, Path) else value
    return guide.meta.get(name)


def check_field(guides: Sequence[Guide], name: str, option: str) -> None:
    """Refuse a field no guide could have, naming the option and the fields known."""
    if name in _GUIDE_FIELDS or name in DERIVED_FIELDS or any(name in g.meta for g in guides):
        return
    known = ", ".join(sorted({*_GUIDE_FIELDS, *DERIVED_FIELDS} - {"path", "compensation"}))
    raise UsageError(f"{option} {name}: no guide has this field; try one of: {known}")


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value == "" or value == []:
        return (3, "")
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, int | float):
        return (0, float(value))
    if isinstance(value, datetime | date):
        return (1, value.isoformat())
    if isinstance(value, list | tuple):
        return _sort_key(value[0]) if value else (3, "")
    return (2, str(value).casefold())


def sort_guides(guides: Sequence[Guide], spec: str, rates: Rates | None = None) -> list[Guide]:
    """Guides ordered by a field (`-field` for descending); missing values last, ties by title.

    Money fields (`total_comp`, `base`) compare in one currency (see `rates`), never across currencies.
    """
    descending = spec.startswith("-")
    name = spec.lstrip("-+")
    check_field(guides, name, "--sort")
    if name in MONEY_FIELDS:
        return sort_by_money(list(guides), name, descending, rates)
    present = [g for g in guides if _sort_key(field_value(g, name))[0] != 3]
    missing = [g for g in guides if _sort_key(field_value(g, name))[0] == 3]
    present.sort(key=lambda g: (_sort_key(field_value(g, name)), g.title.casefold()), reverse=descending)
    return present + sorted(missing, key=lambda g: g.title.casefold())


def group_guides(guides: Sequence[Guide], name: str) -> dict[str, list[Guide]]:
    """Guides by their value of `name` (a list puts a guide in each of its values' groups), in order."""
    check_field(guides, name, "--group-by")
    groups: dict[str, list[Guide]] = {}
    for guide in guides:
        value = field_value(guide, name)
        values = value if isinstance(value, list | tuple) else [value]
        labels = [_label(v) for v in values if v not in (None, "")] or [""]
        for label in dict.fromkeys(labels):
            groups.setdefault(label, []).append(guide)
    return groups


def _label(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
