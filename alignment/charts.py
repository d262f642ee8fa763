"""What a report is made of: tables, charts drawn from them (server-side SVG,
their geometry worked out here because templates cannot do arithmetic), and
the report that carries both.

The page shows a report's tables and charts, the CSV export writes the same
tables and the JSON API returns them, so the three never disagree. Both the
leads reports and the SLA dashboards are built of these; nothing here knows
what a lead is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from alignment import chart_geometry as geometry
from alignment import numbers


@dataclass
class Table:
    """One table of a report: what the page shows, the CSV holds and the API returns."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "columns": self.columns,
            "rows": [[_jsonable(v) for v in row] for row in self.rows],
        }

    def csv_rows(self) -> list[list[Any]]:
        return [self.columns, *self.rows]

    @property
    def display_rows(self) -> list[list[Any]]:
        """The rows as the page writes them: numbers through alignment.numbers (the
        CSV and the API keep them raw); dates and text as they are."""
        kinds = [_column_kind(c) for c in self.columns]
        return [[_cell(v, k) for v, k in zip(row, kinds, strict=False)] for row in self.rows]


def _column_kind(column: str) -> str:
    """Columns of business hours ("Hours open", "Median (h)") read as durations."""
    name = str(column).lower()
    if "(h)" in name or name.startswith("hours ") or name.endswith("hours held"):
        return "hours"
    return ""


def _cell(value: Any, kind: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return value
    if kind == "hours":
        return numbers.duration(value)
    if isinstance(value, int):
        return numbers.number(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return numbers.number(value)
    # A float keeps the decimals its report rounded it to (a rate 1, an AUC 3).
    decimals = len(repr(float(value)).partition(".")[2]) if isinstance(value, float) else 2
    return numbers.number(value, decimals=min(3, max(1, decimals)))


@dataclass
class Bar:
    label: str
    value: float
    text: str
    pct: float  # of the longest bar, 0-100
    pattern: int = 0  # which fill pattern: readable without colour
    short: str = ""  # the label cut to fit beside or under the plot
    # SVG geometry, worked out in chart_geometry's terms (templates cannot do arithmetic).
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0
    text_x: float = 0  # where the value's text (or its tooltip) goes
    text_y: float = 0
    show_label: bool = True


@dataclass
class Tick:
    text: str
    x1: float
    y1: float
    x2: float
    y2: float
    tx: float  # the tick label's anchor
    ty: float


@dataclass
class Chart:
    """A bar chart drawn from one column of a table (server-side SVG)."""

    key: str
    title: str
    table: str
    bars: list[Bar]
    unit: str = ""
    vertical: bool = False
    kind: str = "count"
    axis_title: str = ""
    ticks: list[Tick] = field(default_factory=list)
    legend: list[tuple[int, str]] = field(default_factory=list)
    width: int = 640
    height: int = 200
    plot: tuple[float, float, float, float] = (0, 0, 0, 0)  # x0, y0, x1, y1
    show_values: bool = True

    @property
    def empty(self) -> bool:
        """Every bar is zero: nothing to draw, the page says so instead."""
        return not any(b.value for b in self.bars)

    @property
    def label_every(self) -> int:
        shown = [i for i, b in enumerate(self.bars) if b.show_label]
        return shown[1] - shown[0] if len(shown) > 1 else 1

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "table": self.table,
            "unit": self.unit,
            "labels": [b.label for b in self.bars],
            "values": [b.value for b in self.bars],
        }


CHART_WIDTH = 640
BAR_STEP = 26
BAR_HEIGHT = 18
CHART_PLOT_HEIGHT = 160
FONT = 12  # px, labels and values
SMALL_FONT = 10  # px, column labels and ticks of vertical charts
PATTERNS = 4  # solid, hatched, dotted, crossed
LEGEND_MAX = 6  # more patterned bars than this: one series entry, not one per bar


def _kind_of(unit: str) -> tuple[str, str]:
    """The formatter kind and noun a chart's unit asks for ("%", " leads", "h")."""
    unit = unit.strip()
    if unit == "%":
        return "percent", ""
    if unit in ("h", "hours"):
        return "hours", ""
    if unit.endswith("s") and unit.isalpha():
        return "count", "breach" if unit == "breaches" else unit[:-1]
    return "count", ""


def chart(
    key: str,
    title: str,
    table: Table,
    *,
    label: int = 0,
    value: int = 1,
    unit: str = "",
    vertical: bool = False,
    patterned: bool = False,
) -> Chart:
    kind, noun = _kind_of(unit)
    values = [float(row[value] or 0) for row in table.rows]
    largest = max(values, default=0)
    axis = geometry.scale(
        largest, integer=kind == "count", cap=100.0 if kind == "percent" else None
    )
    bars = [
        Bar(
            label=str(row[label]),
            value=v,
            text=numbers.formatted(row[value], kind, noun),
            pct=round(100 * v / (largest or 1), 2),
            pattern=(i % PATTERNS) if patterned else 0,
        )
        for i, (row, v) in enumerate(zip(table.rows, values, strict=True))
    ]
    series = str(table.columns[value]) if table.columns else title
    made = Chart(
        key=key,
        title=title,
        table=table.key,
        bars=bars,
        unit=unit,
        vertical=vertical,
        kind=kind,
        axis_title=series + (" (h)" if kind == "hours" else ""),
        legend=_legend(bars, series, patterned),
    )
    (_lay_out_columns if vertical else _lay_out_rows)(made, axis)
    return made


def _legend(bars: list[Bar], series: str, patterned: bool) -> list[tuple[int, str]]:
    if patterned and 1 < len(bars) <= LEGEND_MAX:
        return [(b.pattern, b.label) for b in bars]
    return [(0, series)]


def _tick_text(value: float, kind: str) -> str:
    if kind == "percent":
        return f"{numbers.number(value)}%"
    if kind == "hours":
        return numbers.duration(value)
    return numbers.number(value, decimals=0 if value == int(value) else 1)


def _lay_out_rows(made: Chart, axis: geometry.Scale) -> None:
    """Horizontal bars: labels on the left, a value axis with ticks underneath."""
    shorts = [geometry.fit_label(b.label, 28) for b in made.bars]
    label_w = min(200, max((geometry.text_width(t, FONT) for t in shorts), default=40)) + 8
    x0, x1 = round(label_w + 8, 1), CHART_WIDTH - 72
    bottom = BAR_STEP * len(made.bars) + 6
    for i, (bar, short) in enumerate(zip(made.bars, shorts, strict=True)):
        bar.short = short
        bar.x, bar.y = x0, i * BAR_STEP + 4
        bar.w = round((x1 - x0) * axis.fraction(bar.value), 1)
        bar.h = BAR_HEIGHT
        bar.text_x, bar.text_y = round(x0 + bar.w + 4, 1), bar.y + 14
    made.ticks = [
        Tick(
            text=_tick_text(t, made.kind),
            x1=(x := round(x0 + (x1 - x0) * axis.fraction(t), 1)),
            y1=0,
            x2=x,
            y2=bottom + 4,
            tx=x,
            ty=bottom + 18,
        )
        for t in axis.ticks
    ]
    made.plot = (x0, 0, x1, bottom)
    made.height = bottom + 40


def _lay_out_columns(made: Chart, axis: geometry.Scale) -> None:
    """Vertical columns filling the plot's width: a value axis with ticks on the left."""
    x0, x1 = 52, CHART_WIDTH - 8
    top, bottom = 20, 20 + CHART_PLOT_HEIGHT
    n = max(1, len(made.bars))
    step = (x1 - x0) / n
    width = round(min(48, step * 0.72), 1)
    longest = max((geometry.text_width(b.label, SMALL_FONT) for b in made.bars), default=0)
    every = geometry.label_every(n, x1 - x0, longest + 8)
    made.show_values = all(geometry.text_width(b.text, SMALL_FONT) < step for b in made.bars)
    for i, bar in enumerate(made.bars):
        bar.short = bar.label
        bar.h = round(CHART_PLOT_HEIGHT * axis.fraction(bar.value), 1)
        bar.w = width
        bar.x = round(x0 + i * step + (step - width) / 2, 1)
        bar.y = round(bottom - bar.h, 1)
        bar.text_x = round(bar.x + width / 2, 1)
        bar.text_y = round(bar.y - 4, 1)
        bar.show_label = i % every == 0
    made.ticks = [
        Tick(
            text=_tick_text(t, made.kind),
            x1=x0 - 4,
            y1=(y := round(bottom - CHART_PLOT_HEIGHT * axis.fraction(t), 1)),
            x2=x1,
            y2=y,
            tx=x0 - 8,
            ty=round(y + 4, 1),
        )
        for t in axis.ticks
    ]
    made.plot = (x0, top, x1, bottom)
    made.height = bottom + 40


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


@dataclass
class Report:
    key: str
    figures: dict[str, Any]
    tables: list[Table]
    charts: list[Chart] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)

    def as_json(self) -> dict[str, Any]:
        return {
            "report": self.key,
            "figures": {k: _jsonable(v) for k, v in self.figures.items()},
            "tables": [t.as_json() for t in self.tables],
            "charts": [c.as_json() for c in self.charts],
        }


def rate(part: int | None, whole: int | None) -> float | None:
    """A percentage with one decimal, or None when there is nothing to divide."""
    if not whole:
        return None
    return round(100 * (part or 0) / whole, 1)
