"""A panel's headline: its key figures for the period, each with its change
against the previous period of the same length ("Median accept 2 h 10 m,
▼ 25 m vs previous 30 days").

A panel declares its figures (`Figure`: which of the report's figures, of what
kind, and whether more is better); `headline` reads them from the report of
the period and of the one before. Figures of "now" (open breaches, paused
now) have no previous period and show none.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from alignment import numbers
from alignment.charts import Report


@dataclass(frozen=True)
class Figure:
    label: str
    key: str  # in Report.figures
    kind: str = "count"  # a numbers.formatted kind, or "text"
    noun: str = ""  # for counts: "breach" -> "3 breaches"
    better: str = ""  # "up", "down", or "" when neither is better
    compare: bool = True  # False for a figure of now, not of the period
    # The report already holds the previous period's value under this key.
    previous_key: str = ""


@dataclass(frozen=True)
class Shown:
    label: str
    text: str
    change: str = ""  # "▲ 3 breaches vs previous 30 days", or "" when not compared
    # "better", "worse" or "": a class, never the only cue (the arrow and words say it).
    tone: str = ""


def needs_previous_report(figures: list[Figure]) -> bool:
    return any(f.compare and not f.previous_key for f in figures)


def headline(
    figures: list[Figure], report: Report, previous: Report | None, *, days: int
) -> list[Shown]:
    shown = []
    for figure in figures:
        value = report.figures.get(figure.key)
        # The label names what is counted; the noun reads in the change ("▲ 3 breaches").
        text = numbers.formatted(value, figure.kind)
        if not figure.compare:
            shown.append(Shown(figure.label, text))
            continue
        if figure.previous_key:
            before = report.figures.get(figure.previous_key)
        else:
            before = previous.figures.get(figure.key) if previous else None
        shown.append(Shown(figure.label, text, *_change(figure, value, before, days)))
    return shown


def _change(figure: Figure, value: Any, before: Any, days: int) -> tuple[str, str]:
    if not _numeric(value) or not _numeric(before):
        return f"no figure for the previous {days} {numbers.plural(days, 'day')}", ""
    delta = float(value) - float(before)
    if figure.kind == "percent":
        delta = round(delta, 1)
    words = numbers.change(delta, figure.kind, figure.noun)
    tone = ""
    if delta and figure.better:
        tone = "better" if (delta > 0) == (figure.better == "up") else "worse"
    return f"{words} vs previous {days} {numbers.plural(days, 'day')}", tone


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
