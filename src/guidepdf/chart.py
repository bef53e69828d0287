"""The range chart's data: each region's pay ranges on its currency's scale, as fractions, ticks and labels.

Templates draw the SVG (see `templates/chart.html.j2`); this module only decides what goes where, so a
theme can restyle or redraw the chart without doing arithmetic in Jinja.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .guide import Compensation
from .money import format_money, format_percent, format_range


@dataclass(frozen=True)
class ChartBar:
    """One range on a region's scale: `start` and `end` as fractions of the scale (0–1), and its label."""

    kind: str  # "total", "base", "bonus" or "stock"
    name: str
    start: float
    end: float
    label: str
    estimated: bool = False  # bonus worked out from a percentage of base
    from_body: bool = False  # figures read from the guide's body text, not its front matter


@dataclass(frozen=True)
class ChartRow:
    """One region in the chart: its name, currency, bars (empty when the guide gives no figures)."""

    region: str
    currency: str
    bars: tuple[ChartBar, ...]
    #: The axis under the row: (fraction of the scale, label), from zero.
    ticks: tuple[tuple[float, str], ...] = ()
    from_body: bool = False

    @property
    def has_figures(self) -> bool:
        """True when the region has at least one bar to draw."""
        return bool(self.bars)


@dataclass(frozen=True)
class Chart:
    """Every region's row, the text alternative, and whether currencies differ between rows."""

    rows: tuple[ChartRow, ...]
    description: str
    mixed_currencies: bool

    @property
    def bar_count(self) -> int:
        """How many bars the chart draws in all (its height grows with this)."""
        return sum(max(1, len(row.bars)) for row in self.rows)

    @property
    def has_estimates(self) -> bool:
        """True when some bonus bar is worked out from a percentage of base."""
        return any(bar.estimated for row in self.rows for bar in row.bars)

    @property
    def has_body_figures(self) -> bool:
        """True when some region's figures come from the guide's body rather than its front matter."""
        return any(row.from_body and row.bars for row in self.rows)

    @property
    def has_figures(self) -> bool:
        """True when at least one region has something to draw."""
        return any(row.bars for row in self.rows)


#: Bars in the order guides' own tables put their columns: base, stock, bonus.
_PARTS = (("total", "Total"), ("base", "Base"), ("stock", "Stock"), ("bonus", "Bonus"))
#: Axis steps: 1, 2, 2.5 and 5 times a power of ten.
_STEPS = (1.0, 2.0, 2.5, 5.0)


def _span(low: float | None, high: float | None) -> tuple[float, float] | None:
    if low is None and high is None:
        return None
    low = 0.0 if low is None else low  # "up to" a figure: a range from zero, not a sliver at the top
    high = low if high is None else high
    assert low is not None and high is not None
    return (min(low, high), max(low, high))


def _ranges(comp: Compensation) -> dict[str, tuple[tuple[float, float], str, bool]]:
    """Each part's (low, high), its label and whether it is estimated; parts without figures are absent."""
    ccy = comp.currency
    found: dict[str, tuple[tuple[float, float], str, bool]] = {}
    for kind, low, high in (
        ("total", comp.total_comp_low, comp.total_comp_high),
        ("base", comp.base_low, comp.base_high),
        ("bonus", comp.bonus_low, comp.bonus_high),
        ("stock", comp.stock_low, comp.stock_high),
    ):
        span = _span(low, high)
        if span is not None:
            found[kind] = (span, format_range(low, high, ccy), False)
    if "bonus" not in found and comp.bonus_pct is not None:
        label = f"{format_percent(comp.bonus_pct)} of base"
        base = found.get("base")
        if base is not None:
            (b_low, b_high), _, _ = base
            found["bonus"] = ((b_low * comp.bonus_pct / 100, b_high * comp.bonus_pct / 100), label, True)
        else:  # nothing to draw it against: a label with an empty bar
            found["bonus"] = ((0.0, 0.0), label, True)
    return found


def _top(comp: Compensation) -> float:
    return max((high for (_, high), _, _ in _ranges(comp).values()), default=0.0)


def _ticks(top: float, currency: str | None) -> tuple[tuple[float, str], ...]:
    """Three to five round values from zero up to `top`, as (fraction of `top`, label)."""
    if not (top > 0 and math.isfinite(top)):
        return ()
    power = 10 ** math.floor(math.log10(top / 3))
    step = next((k * power for k in _STEPS if top / (k * power) <= 4), 10 * power)
    count = int(top // step)
    return tuple((i * step / top, _tick_label(i * step, currency)) for i in range(count + 1))


def _tick_label(value: float, currency: str | None) -> str:
    """`0`, `$200K`, `¥20M`: a round axis value needs no `.00`."""
    if value == 0:
        return "0"
    return re.sub(r"\.0+(?=[KMB])", "", format_money(value, currency))


def _from_body(comp: Compensation) -> bool:
    # `origin` is "body" when the body-figures reader filled the region from the guide's text.
    return getattr(comp, "origin", None) == "body" or bool(getattr(comp, "from_body", False))


def chart_row(comp: Compensation, top: float | None = None) -> ChartRow:
    """A region's row: every part scaled to `top` (by default the largest figure of that region)."""
    ranges = _ranges(comp)
    own = max((high for (_, high), _, _ in ranges.values()), default=0.0)
    top = own if top is None or top < own else top
    body = _from_body(comp)
    bars = []
    for kind, name in _PARTS:
        if kind not in ranges:
            continue
        (low, high), label, estimated = ranges[kind]
        start, end = (low / top, high / top) if top > 0 else (0.0, 0.0)
        bars.append(ChartBar(kind, name, start, end, label, estimated, body))
    region = comp.region or "Unnamed region"
    currency = comp.currency or ""
    ticks = _ticks(top, comp.currency) if bars else ()
    return ChartRow(region, currency, tuple(bars), ticks, body)


def describe(rows: Iterable[ChartRow]) -> str:
    """The chart as one sentence per region: the text a screen reader speaks for the figure."""
    parts = []
    for row in rows:
        where = f"{row.region} ({row.currency})" if row.currency else row.region
        if not row.bars:
            parts.append(f"{where}: no figures.")
        else:
            ranges = "; ".join(f"{bar.name.lower()} {bar.label}" for bar in row.bars)
            parts.append(f"{where}: {ranges}.")
    return "Compensation ranges by region, each in its own currency. " + " ".join(parts)


def _currency_key(comp: Compensation) -> str:
    return " ".join(str(comp.currency or "").split()).upper()


def build_chart(regions: Iterable[Compensation]) -> Chart:
    """The chart for a guide's `compensation` regions, nulls and all (none are dropped). Regions in the
    same currency share one scale, so their bars compare; a region without a currency has its own."""
    regions = list(regions)
    tops: dict[str, float] = {}
    for comp in regions:
        key = _currency_key(comp)
        if key:
            tops[key] = max(tops.get(key, 0.0), _top(comp))
    rows = tuple(chart_row(comp, tops.get(_currency_key(comp))) for comp in regions)
    currencies = {row.currency for row in rows if row.currency}
    return Chart(rows=rows, description=describe(rows), mixed_currencies=len(currencies) > 1)
