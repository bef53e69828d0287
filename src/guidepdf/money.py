"""Money, percentage and date formatting for briefs: compact, currency-correct, total over any input."""

from __future__ import annotations

import math
from datetime import date

#: Symbols printed before an amount; other ISO 4217 codes print as "CODE 1.2M".
SYMBOLS = {
    "USD": "$",
    "GBP": "£",
    "EUR": "€",
    "JPY": "¥",
    "HKD": "HK$",
    "SGD": "S$",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "INR": "₹",
    "CNY": "CN¥",
    "KRW": "₩",
    "ILS": "₪",
    "BRL": "R$",
    "MXN": "MX$",
    "TWD": "NT$",
}
DASH = "–"


def currency_prefix(currency: str | None) -> str:
    """`$` for USD, `HK$` for HKD, `CHF ` for codes without a symbol, empty when unknown."""
    if not currency:
        return ""
    code = " ".join(str(currency).split()).upper()  # a line break in a code must not break the line
    return SYMBOLS.get(code, f"{code} " if code else "")


def compact_number(value: float) -> str:
    """250000 → `250K`, 1950000 → `1.95M`, 14000000 → `14.00M`, 950 → `950`."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "?"
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1_000_000_000:
        return f"{sign}{value / 1_000_000_000:.2f}B"
    if value >= 1_000_000:
        return f"{sign}{value / 1_000_000:.2f}M"
    if value >= 1_000:
        thousands = value / 1_000
        text = f"{thousands:.1f}".removesuffix(".0")
        if text == "1000":
            return f"{sign}1.00M"
        return f"{sign}{text}K"
    return f"{sign}{value:.0f}" if float(value).is_integer() else f"{sign}{value:.2f}"


def format_money(value: float | None, currency: str | None = None) -> str:
    """One compact amount with its currency: `$525K`, `£410K`, `HK$4.10M`; `—` when missing."""
    if value is None:
        return "—"
    return f"{currency_prefix(currency)}{compact_number(value)}"


def format_range(low: float | None, high: float | None, currency: str | None = None) -> str:
    """`$525K–$775K`; one side when the other is missing; `—` when both are."""
    if low is None and high is None:
        return "—"
    if low is None or high is None or low == high:
        value = low if low is not None else high
        prefix = "up to " if low is None else ("from " if high is None else "")
        return f"{prefix}{format_money(value, currency)}"
    return f"{format_money(low, currency)}{DASH}{format_money(high, currency)}"


def format_percent(value: float | None) -> str:
    """`15%`, `12.5%`; `—` when missing."""
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return "—"
    return f"{value:.1f}".removesuffix(".0") + "%"


def format_date(value: date | None) -> str:
    """`23 Feb 2026`; `—` when missing."""
    if value is None:
        return "—"
    return f"{value.day} {value:%b %Y}"
