"""The body's compensation table read as data: each region's ranges, with the line they are on.

Guides carry a Markdown table such as

    | Region | Base Salary | Bonus | Total Comp |
    |---|---|---|---|
    | **London** | £195K - £275K ($245K - $345K) | £215K - £335K | £410K - £610K ($515K - $765K) |

Amounts take a currency symbol or code (`£`, `HK$`, `CHF 210K`), a K/M/B (or Indian L/Cr) suffix and
an optional equivalent in another currency in parentheses. A cell that cannot be read exactly is
reported, never guessed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .guide import Compensation, Guide
from .money import SYMBOLS

#: Money columns by what their header names; the first column is the region.
COLUMNS = ("base", "stock", "bonus", "total_comp")
_HEADER_WORDS = (
    ("total_comp", ("total",)),
    ("base", ("base", "salary")),
    ("stock", ("stock", "equity", "rsu")),
    ("bonus", ("bonus",)),
)
_REGION_HEADERS = ("region", "location", "city", "office", "country", "market")
_SUFFIXES = {"": 1, "k": 1_000, "m": 1_000_000, "mm": 1_000_000, "b": 1_000_000_000, "l": 100_000}
_SUFFIXES["cr"] = 10_000_000
# Longest symbols first, so `HK$` is not read as `$`.
_SYMBOL_CODES = {symbol: code for code, symbol in SYMBOLS.items()}
_SYMBOL_CODES.update({"$": "USD", "¥": "JPY", "US$": "USD", "C$": "CAD", "Fr.": "CHF", "₽": "RUB"})
_SYMBOL_RE = "|".join(re.escape(s) for s in sorted(_SYMBOL_CODES, key=len, reverse=True))


def _amount_re(p: str) -> str:
    """One amount with named groups prefixed `p`: symbol or code, number, suffix, trailing code."""
    number = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
    suffix = r"(?i:mm|cr|[kmbl])(?![A-Za-z])"
    return (
        rf"(?P<{p}sym>{_SYMBOL_RE})?\s*(?:(?P<{p}code>[A-Z]{{3}})\s*)?"
        rf"(?P<{p}num>{number})\s*(?P<{p}suf>{suffix})?(?:\s*(?P<{p}code2>[A-Z]{{3}})(?![A-Za-z]))?"
    )


_RANGE_RE = re.compile(rf"^\s*{_amount_re('a')}\s*(?:(?:-|–|—|to)\s*{_amount_re('b')}|(?P<plus>\+))?\s*$")
_PERCENT_RE = re.compile(r"^\s*(?P<low>\d+(?:\.\d+)?)\s*%?\s*(?:(?:-|–|—|to)\s*(?P<high>\d+(?:\.\d+)?))?\s*%")
_EMPTY = {"", "-", "–", "—", "n/a", "na", "none", "tbd", "?", "null"}
_ROW_RE = re.compile(r"^\s*\|(.*)\|\s*$")
_RULE_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


@dataclass(frozen=True)
class Amount:
    """A range read from one cell: low and high (either may be missing), its currency and precision.

    `precision` is the smallest step the text could show (`$250K`: 1,000; `HK$1.95M`: 10,000), so a
    figure in the front matter that rounds to the text agrees with it.
    """

    low: float | None
    high: float | None
    currency: str | None
    precision: float
    text: str
    #: The equivalent in parentheses, e.g. `($245K - $345K)`: (currency, low, high).
    equivalent: tuple[str | None, float | None, float | None] | None = None


@dataclass(frozen=True)
class BodyRegion:
    """One region's row of the body's table: its name, the file line, and the amounts read per column."""

    region: str
    line: int
    amounts: dict[str, Amount] = field(default_factory=dict)
    bonus_pct: tuple[float, float | None] | None = None

    @property
    def currency(self) -> str | None:
        """The currency of the row's amounts (the first column that names one)."""
        return next((a.currency for a in self.amounts.values() if a.currency), None)

    @property
    def figures(self) -> dict[str, float]:
        """Front-matter field names (`base_low`, `bonus_pct`…) with the values this row gives."""
        values: dict[str, float] = {}
        for column, amount in self.amounts.items():
            if amount.low is not None:
                values[f"{column}_low"] = amount.low
            if amount.high is not None:
                values[f"{column}_high"] = amount.high
        if self.bonus_pct is not None and "bonus" not in self.amounts and self.bonus_pct[1] is None:
            values["bonus_pct"] = self.bonus_pct[0]
        return values

    def describe(self) -> str:
        """The row's figures as written: `base £195K - £275K, total £410K - £610K`."""
        parts = [f"{_LABELS[c]} {self.amounts[c].text}" for c in COLUMNS if c in self.amounts]
        if self.bonus_pct is not None and "bonus" not in self.amounts:
            low, high = self.bonus_pct
            parts.insert(1, f"bonus {_pct(low)}" + (f"-{_pct(high)}" if high is not None else ""))
        return ", ".join(parts)


@dataclass(frozen=True)
class CellProblem:
    """A cell of a compensation table that could not be read: its line, column header and text."""

    line: int
    column: str
    text: str
    message: str


@dataclass(frozen=True)
class BodyFigures:
    """Every region row found in the body's compensation tables, and the cells that could not be read."""

    regions: tuple[BodyRegion, ...] = ()
    problems: tuple[CellProblem, ...] = ()

    def find(self, region: str | None) -> BodyRegion | None:
        """The row for `region` (case, blanks and a trailing `(HQ)`-style note ignored)."""
        if not region:
            return None
        exact, loose = region_key(region)
        for row in self.regions:
            if region_key(row.region)[0] == exact:
                return row
        return next((row for row in self.regions if region_key(row.region)[1] == loose), None)


_LABELS = {"base": "base", "stock": "stock", "bonus": "bonus", "total_comp": "total"}


def with_body_figures(guide: Guide) -> tuple[Compensation, ...]:
    """The guide's regions, where a region's front matter has no figures taking the body table's.

    Those regions are marked `origin="body"` so a brief can say the figures come from the text. A row in
    another currency than the region's is left alone: it may be an equivalent, not the region's pay.
    """
    if not any(not comp.has_figures for comp in guide.compensation):
        return guide.compensation
    figures = read_body_figures(guide.body, guide.body_line)
    regions = []
    for comp in guide.compensation:
        row = None if comp.has_figures else figures.find(comp.region)
        currency = row.currency if row is not None else None
        if row is None or not row.figures or (comp.currency and currency and comp.currency != currency):
            regions.append(comp)
            continue
        regions.append(
            Compensation(
                region=comp.region,
                currency=comp.currency or currency,
                extra=comp.extra,
                origin="body",
                **row.figures,
            )
        )
    return tuple(regions)


def region_key(name: str) -> tuple[str, str]:
    """(exact, loose) comparison keys for a region name; loose drops parenthesised notes."""
    exact = " ".join(name.replace("*", "").casefold().split())
    loose = " ".join(re.sub(r"\([^)]*\)", " ", exact).split())
    return exact, loose


def read_body_figures(body: str, first_line: int = 1) -> BodyFigures:
    """The compensation tables of a Markdown body; `first_line` is the file line of the body's first."""
    lines = body.split("\n")
    regions: list[BodyRegion] = []
    problems: list[CellProblem] = []
    i = 0
    while i + 1 < len(lines):
        header, rule = _ROW_RE.match(lines[i]), lines[i + 1]
        if header is None or not _RULE_RE.match(rule):
            i += 1
            continue
        names = _cells(header.group(1))
        columns = _columns(names)
        i += 2
        if columns is None:
            continue
        while i < len(lines) and (row := _ROW_RE.match(lines[i])):
            cells = _cells(row.group(1))
            region = _plain(cells[0]) if cells else ""
            if region:
                regions.append(_read_row(region, cells, names, columns, first_line + i, problems))
            i += 1
    return BodyFigures(tuple(regions), tuple(problems))


def _cells(text: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", text)]


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[*_`]", "", text).split())


def _columns(names: list[str]) -> dict[int, str] | None:
    """Money columns by index, when this header is a region table's; else None."""
    if not names or _plain(names[0]).casefold() not in _REGION_HEADERS:
        return None
    columns: dict[int, str] = {}
    for index, name in enumerate(names[1:], start=1):
        words = _plain(name).casefold()
        for column, keys in _HEADER_WORDS:
            if any(key in words for key in keys) and column not in columns.values():
                columns[index] = column
                break
    return columns or None


def _read_row(
    region: str,
    cells: list[str],
    names: list[str],
    columns: dict[int, str],
    line: int,
    problems: list[CellProblem],
) -> BodyRegion:
    amounts: dict[str, Amount] = {}
    bonus_pct: tuple[float, float | None] | None = None
    for index, column in columns.items():
        text = _plain(cells[index]) if index < len(cells) else ""
        if text.casefold() in _EMPTY:
            continue
        header = _plain(names[index])
        if column == "bonus" and "%" in text and not _SYMBOL_START.match(text):
            pct = _PERCENT_RE.match(text)
            if pct is not None:
                high = pct.group("high")
                bonus_pct = (_number(pct.group("low")), _number(high) if high else None)
                continue
        try:
            amounts[column] = parse_amount(text)
        except ValueError as exc:
            problems.append(CellProblem(line, header, text, str(exc)))
    currencies = {a.currency for a in amounts.values() if a.currency}
    if len(currencies) > 1:
        problems.append(
            CellProblem(line, "", region, f"mixes currencies in one row: {', '.join(sorted(currencies))}")
        )
    return BodyRegion(region, line, amounts, bonus_pct)


_SYMBOL_START = re.compile(rf"^\s*(?:{_SYMBOL_RE}|[A-Z]{{3}}\s)")


def parse_amount(text: str) -> Amount:
    """A cell's range, e.g. `HK$1.95M - HK$2.70M ($250K - $346K)`; raises ValueError when unreadable."""
    main, equivalent_text = text, None
    paren = re.match(r"^(.*?)\s*\(([^()]*)\)\s*$", text)
    if paren is not None:
        main, equivalent_text = paren.group(1), paren.group(2)
    low, high, currency, precision = _read_range(main, text)
    equivalent = None
    if equivalent_text is not None:
        e_low, e_high, e_currency, _ = _read_range(equivalent_text, text)
        equivalent = (e_currency, e_low, e_high)
    return Amount(low, high, currency, precision, main.strip(), equivalent)


def _read_range(text: str, whole: str) -> tuple[float | None, float | None, str | None, float]:
    match = _RANGE_RE.match(text.replace("\u2009", " ").replace("\xa0", " "))
    if match is None:
        raise ValueError(f"cannot read {whole!r} as an amount or a range")
    low, low_step, low_cur = _amount(match, "a")
    if match.group("bnum") is None:
        high, high_step, high_cur = (None, 0.0, None) if match.group("plus") else (low, low_step, low_cur)
    else:
        high, high_step, high_cur = _amount(match, "b")
    # `$250K - 350K`: the second amount shares the first's currency and suffix.
    if match.group("bnum") is not None:
        if high_cur is None:
            high_cur = low_cur
        if match.group("bsuf") is None and match.group("asuf") is not None:
            factor = _SUFFIXES[match.group("asuf").lower()]
            high, high_step = _number(match.group("bnum"), factor), _step(match.group("bnum")) * factor
        elif match.group("asuf") is None and match.group("bsuf") is not None:
            factor = _SUFFIXES[match.group("bsuf").lower()]
            low, low_step = _number(match.group("anum"), factor), _step(match.group("anum")) * factor
    if low_cur is not None and high_cur is not None and low_cur != high_cur:
        raise ValueError(f"cannot read {whole!r}: {low_cur} and {high_cur} in one range")
    currency = low_cur or high_cur
    if low is not None and high is not None and low > high:
        raise ValueError(f"cannot read {whole!r}: the low end is above the high end")
    return low, high, currency, max(low_step, high_step)


def _amount(match: re.Match[str], p: str) -> tuple[float, float, str | None]:
    symbol, code, code2 = match.group(f"{p}sym"), match.group(f"{p}code"), match.group(f"{p}code2")
    currency = _SYMBOL_CODES.get(symbol) if symbol else None
    for given in (code, code2):
        if given is not None:
            if currency is not None and currency != given:
                raise ValueError(f"cannot read {match.string!r}: {symbol} and {given} in one amount")
            currency = given
    suffix = (match.group(f"{p}suf") or "").lower()
    factor = _SUFFIXES[suffix]
    text = match.group(f"{p}num")
    return _number(text, factor), _step(text) * factor, currency


def _number(text: str, factor: int = 1) -> float:
    """`1.95` times 1,000,000 is exactly 1950000 (decimal arithmetic, no binary rounding)."""
    try:
        value = Decimal(text.replace(",", "")) * factor
    except InvalidOperation:
        raise ValueError(f"cannot read {text!r} as a number") from None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"cannot read {text!r} as a number")
    return int(number) if number.is_integer() else number


def _step(text: str) -> float:
    """The value of the last digit shown: `1.95` → 0.01, `250` → 1."""
    decimals = len(text.split(".", 1)[1]) if "." in text else 0
    return 10.0**-decimals


def _pct(value: float) -> str:
    return f"{value:g}%"
