"""The range chart's data: each region's pay ranges on its own currency scale, as fractions and labels.

Templates draw the SVG (see `templates/chart.html.j2`); this module only decides what goes where, so a
theme can restyle or redraw the chart without doing arithmetic in Jinja.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .guide import Compensation
from .money import format_percent, format_range


@dataclass(frozen=True)
class ChartBar:
    """One range on a region's scale: `start` and `end` as fractions of the scale (0–1), and its label."""

    kind: str  # "total", "base", "bonus" or "stock"
    name: str
    start: float
    end: float
    label: str
    estimated: bool = False  # bonus worked out from a percentage of base


@dataclass(frozen=True)
class ChartRow:
    """One region in the chart: its name, currency, bars (empty when the guide gives no figures)."""

    region: str
    currency: str
    bars: tuple[ChartBar, ...]
    scale_label: str

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


_PARTS = (("total", "Total"), ("base", "Base"), ("bonus", "Bonus"), ("stock", "Stock"))


def _span(low: float | None, high: float | None) -> tuple[float, float] | None:
    if low is None and high is None:
        return None
    low = high if low is None else low
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


def chart_row(comp: Compensation) -> ChartRow:
    """A region's row: every part scaled to the largest figure of that region alone."""
    ranges = _ranges(comp)
    top = max((high for (_, high), _, _ in ranges.values()), default=0.0)
    bars = []
    for kind, name in _PARTS:
        if kind not in ranges:
            continue
        (low, high), label, estimated = ranges[kind]
        start, end = (low / top, high / top) if top > 0 else (0.0, 0.0)
        bars.append(ChartBar(kind, name, start, end, label, estimated))
    region = comp.region or "Unnamed region"
    currency = comp.currency or ""
    scale = format_range(0, top, comp.currency) if top > 0 else ""
    return ChartRow(region=region, currency=currency, bars=tuple(bars), scale_label=scale)


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


def build_chart(regions: Iterable[Compensation]) -> Chart:
    """The chart for a guide's `compensation` regions, nulls and all (none are dropped)."""
    rows = tuple(chart_row(comp) for comp in regions)
    currencies = {row.currency for row in rows if row.currency}
    return Chart(rows=rows, description=describe(rows), mixed_currencies=len(currencies) > 1)
