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


@dataclass
class Bar:
    label: str
    value: float
    text: str
    pct: float  # of the longest bar, 0-100
    pattern: int = 0  # which fill pattern: readable without colour
    # SVG geometry, worked out here (templates cannot do arithmetic).
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0


@dataclass
class Chart:
    """A bar chart drawn from one column of a table (server-side SVG)."""

    key: str
    title: str
    table: str
    bars: list[Bar]
    unit: str = ""
    vertical: bool = False

    @property
    def height(self) -> int:
        return CHART_PLOT_HEIGHT + 40 if self.vertical else BAR_STEP * len(self.bars) + 8

    @property
    def width(self) -> int:
        if self.vertical:
            return max(CHART_WIDTH, COLUMN_STEP * len(self.bars))
        return CHART_WIDTH

    @property
    def label_every(self) -> int:
        """Vertical charts label every n-th column so the dates never overlap."""
        return max(1, len(self.bars) // 12)

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
LABEL_WIDTH = 200
BAR_SPACE = 360
BAR_STEP = 26
CHART_PLOT_HEIGHT = 160
COLUMN_STEP = 22


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
    values = [float(row[value] or 0) for row in table.rows]
    top = max(values, default=0) or 1
    bars = []
    for i, (row, v) in enumerate(zip(table.rows, values, strict=True)):
        pct = round(100 * v / top, 2)
        bar = Bar(
            label=str(row[label]),
            value=v,
            text=_text(row[value], unit),
            pct=pct,
            pattern=(i % 4) if patterned else 0,
        )
        if vertical:
            bar.h = round(CHART_PLOT_HEIGHT * pct / 100, 1)
            bar.x = i * COLUMN_STEP + 2
            bar.y = round(CHART_PLOT_HEIGHT + 14 - bar.h, 1)
        else:
            bar.w = round(BAR_SPACE * pct / 100, 1)
            bar.x = LABEL_WIDTH
            bar.y = i * BAR_STEP + 4
        bars.append(bar)
    return Chart(key=key, title=title, table=table.key, bars=bars, unit=unit, vertical=vertical)


def _text(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        value = f"{value:.1f}"
    return f"{value}{unit}"


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
