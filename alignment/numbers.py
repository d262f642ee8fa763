"""How every number on a page is written: one formatter for counts, shares,
durations and money, so a chart's label, its tooltip, the headline figure and
the table cell never disagree.

Counts get thousands separators and a plural noun ("1 lead", "1,204 leads");
shares one decimal and a "%"; durations, given in hours, read as days, hours
and minutes ("2 d 4 h", "2 h 10 m", "25 m"). A day here is 24 hours: the
figures it formats are already business hours, so "1 d" is 24 of them, not a
working day (a reader cannot tell which calendar a "day" of 8 hours meant).
The CSV export and the API keep the raw numbers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

DASH = "–"

# Nouns whose plural is not the noun plus "s".
IRREGULAR = {"breach": "breaches", "person": "people", "reply": "replies"}


def plural(count: float, noun: str) -> str:
    """The noun for this many: "1 lead" but "0 leads", "2 breaches"."""
    if count == 1:
        return noun
    return IRREGULAR.get(noun, noun + "s")


def number(value: Any, *, decimals: int = 0) -> str:
    """1234567 -> "1,234,567"; with decimals, 1234.5 -> "1,234.5"; None -> "–"."""
    if value is None:
        return DASH
    if isinstance(value, Decimal):
        value = float(value)
    if decimals == 0:
        return f"{round(value):,}"
    return f"{value:,.{decimals}f}"


def count(value: Any, noun: str = "") -> str:
    """A count, with its noun in the right form when one is given."""
    if value is None:
        return DASH
    text = number(value)
    return f"{text} {plural(value, noun)}" if noun else text


def percent(value: Any) -> str:
    """A share already in percent: 67.8 -> "67.8%"."""
    return DASH if value is None else f"{number(value, decimals=1)}%"


def duration(hours: Any) -> str:
    """Hours as the largest two units: 52 -> "2 d 4 h", 2.17 -> "2 h 10 m", 0.4 -> "24 m"."""
    if hours is None:
        return DASH
    minutes = round(abs(float(hours)) * 60)
    sign = "-" if float(hours) < 0 and minutes else ""
    days, rest = divmod(minutes, 24 * 60)
    whole_hours, mins = divmod(rest, 60)
    if days:
        # Two units are enough to read; the minutes of a days-long wait are noise.
        whole_hours += 1 if mins >= 30 else 0
        if whole_hours == 24:
            days, whole_hours = days + 1, 0
        text = f"{number(days)} d" + (f" {whole_hours} h" if whole_hours else "")
    elif whole_hours:
        text = f"{whole_hours} h" + (f" {mins} m" if mins else "")
    else:
        text = f"{mins} m"
    return sign + text


def money(value: Any) -> str:
    """Whole currency units with separators: 171500 -> "171,500"."""
    return number(value)


def score(value: Any) -> str:
    """A score between 0 and 1 (an AUC): three decimals."""
    return DASH if value is None else f"{float(value):.3f}"


FORMATS = {
    "count": count,
    "percent": percent,
    "hours": duration,
    "money": money,
    "score": score,
}


def formatted(value: Any, kind: str, noun: str = "") -> str:
    """The one entry point: a value of a kind ("count", "percent", "hours", "money", "score")."""
    if kind == "count":
        return count(value, noun)
    if kind == "text":
        return DASH if value in (None, "") else str(value)
    return FORMATS[kind](value)


def change(delta: Any, kind: str, noun: str = "") -> str:
    """A difference between two periods: "▲ 3 breaches", "▼ 25 m", "▲ 2.5 pts", "no change"."""
    if delta is None:
        return DASH
    if not delta:
        return "no change"
    arrow = "▲" if delta > 0 else "▼"
    size = abs(delta)
    if kind == "percent":
        text = f"{number(size, decimals=1)} {plural(round(size, 1), 'pt')}"
    else:
        text = formatted(size, kind, noun)
    return f"{arrow} {text}"
