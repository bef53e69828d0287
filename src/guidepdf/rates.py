"""Pay in one comparison currency (USD), so sorting across currencies is honest about where rates come from.

A guide's figure is converted with, in order: nothing (it is in USD already), the USD equivalent the
guide itself gives in its body table (`£410K - £610K ($515K - $765K)`), or a rate from the dated
`[rates]` table of the configuration file. Where none is known the figure is not compared at all:
those guides come after the others, by title, and the command says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .figures import read_body_figures
from .guide import Compensation, Guide

COMPARISON_CURRENCY = "USD"
#: Fields compared in the comparison currency when sorting.
MONEY_FIELDS = {"total_comp": "total_comp", "base": "base"}


@dataclass(frozen=True)
class Rates:
    """Exchange rates the user keeps: units of `currency` for one unit of each code, as of `date`."""

    date: date
    source: str
    rates: dict[str, float] = field(default_factory=dict)
    currency: str = COMPARISON_CURRENCY

    def describe(self) -> str:
        """`ECB reference rates, 2026-11-02`."""
        return f"{self.source}, {self.date.isoformat()}"


@dataclass(frozen=True)
class Converted:
    """A figure in the comparison currency, or None, and how it was obtained (`same`, `guide`, `rates`)."""

    value: float | None
    original: float | None
    currency: str | None
    how: str | None


def convert(guide: Guide, name: str, rates: Rates | None = None) -> Converted:
    """The guide's headline `name` (`total_comp` or `base`, the high end) in the comparison currency."""
    headline = guide.headline
    if headline is None:
        return Converted(None, None, None, None)
    column = MONEY_FIELDS[name]
    end, value = _pick(headline, column)
    currency = headline.currency
    if value is None:
        return Converted(None, None, currency, None)
    if currency == COMPARISON_CURRENCY:
        return Converted(float(value), value, currency, "same")
    equivalent = _guide_equivalent(guide, headline, column, end)
    if equivalent is not None:
        return Converted(equivalent, value, currency, "guide")
    if rates is not None and currency and currency in rates.rates:
        return Converted(float(value) * rates.rates[currency], value, currency, "rates")
    return Converted(None, value, currency, None)


def _pick(comp: Compensation, column: str) -> tuple[str, float | None]:
    high, low = getattr(comp, f"{column}_high"), getattr(comp, f"{column}_low")
    return ("high", high) if high is not None else ("low", low)


def _guide_equivalent(guide: Guide, comp: Compensation, column: str, end: str) -> float | None:
    """The USD figure the guide's own body table gives beside this region's amount, when it matches."""
    row = read_body_figures(guide.body, guide.body_line).find(comp.region)
    amount = row.amounts.get(column) if row is not None else None
    if amount is None or amount.equivalent is None or amount.currency != comp.currency:
        return None
    eq_currency, eq_low, eq_high = amount.equivalent
    value = eq_high if end == "high" else eq_low
    shown = amount.high if end == "high" else amount.low
    own = getattr(comp, f"{column}_{end}")
    # Only when the table's amount is the front matter's figure: otherwise the equivalent is of another.
    if (
        eq_currency != COMPARISON_CURRENCY
        or value is None
        or shown is None
        or abs(shown - own) > amount.precision
    ):
        return None
    return float(value)


def comparison_note(guides: list[Guide], name: str, rates: Rates | None) -> dict[str, Any]:
    """What a packet says about a sort by pay: the currency, the sources used, what was not compared."""
    results = [(guide, convert(guide, name, rates)) for guide in guides]
    used = {c.how for _, c in results if c.how}
    unknown = sorted(
        {c.currency or "no currency" for _, c in results if c.how is None and c.original is not None}
    )
    sources = []
    if "guide" in used:
        sources.append("the guides' own USD figures")
    if "rates" in used and rates is not None:
        sources.append(f"rates from {rates.describe()}")
    return {
        "field": name,
        "currency": COMPARISON_CURRENCY,
        "sources": sources,
        "unknown": unknown,
        "unconverted": [str(g.path) for g, c in results if c.how is None and c.original is not None],
    }


def sort_by_money(guides: list[Guide], name: str, descending: bool, rates: Rates | None) -> list[Guide]:
    """Guides by `name` in the comparison currency; then those with no known rate, then those without
    the figure, each by title."""
    converted = [(guide, convert(guide, name, rates)) for guide in guides]
    known = [(g, c.value) for g, c in converted if c.value is not None]
    known.sort(key=lambda item: (item[1], item[0].title.casefold()), reverse=descending)
    unknown = [g for g, c in converted if c.value is None and c.original is not None]
    missing = [g for g, c in converted if c.original is None]
    by_title = lambda g: g.title.casefold()  # noqa: E731
    return [g for g, _ in known] + sorted(unknown, key=by_title) + sorted(missing, key=by_title)
