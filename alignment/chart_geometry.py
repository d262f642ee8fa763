"""The arithmetic of a bar chart, apart from what it charts: a scale with
round ticks, where the bars and labels go, and labels cut to fit.

Pure functions of numbers and strings (templates cannot do arithmetic, and
the report queries should not care how a chart is drawn), tested on their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Steps a reader counts in without effort: 1, 2, 2.5, 5 times a power of ten.
NICE_STEPS = (1, 2, 2.5, 5, 10)


@dataclass(frozen=True)
class Scale:
    """From 0 to `top`, with `ticks` at round values (the last one is `top`)."""

    top: float
    ticks: tuple[float, ...]

    def fraction(self, value: float) -> float:
        """Where a value falls between 0 and the top, clamped to [0, 1]."""
        if self.top <= 0:
            return 0.0
        return min(1.0, max(0.0, value / self.top))


def nice_step(span: float, count: int) -> float:
    """The round step that cuts `span` into about `count` parts."""
    raw = span / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    for step in NICE_STEPS:
        if step * power >= raw - 1e-9:
            return step * power
    return 10 * power  # pragma: no cover - the last NICE_STEPS entry always fits


def scale(
    largest: float, *, ticks: int = 5, integer: bool = False, cap: float | None = None
) -> Scale:
    """A scale from 0 whose top is the first round tick at or above `largest`.

    `integer`: counts never get a tick at 2.5. `cap`: a share never reads past 100%.
    """
    if largest <= 0:
        return Scale(top=1.0, ticks=(0.0, 1.0))
    step = nice_step(largest, ticks)
    if integer and step % 1:
        # No half-counts on the axis: below 1 a step of 1, and 2.5 becomes 2.
        step = float(max(1, math.floor(step)))
    top = _tidy(step * math.ceil(largest / step - 1e-9))
    if cap is not None and top > cap >= largest:
        top = cap
    marks = []
    n = 0
    while n * step < top - 1e-9:
        marks.append(_tidy(n * step))
        n += 1
    marks.append(top)
    return Scale(top=top, ticks=tuple(marks))


def _tidy(value: float) -> float:
    """0.6000000000000001 -> 0.6: a tick is written, so it must be the round number."""
    return float(f"{value:.12g}")


def fit_label(text: str, chars: int) -> str:
    """The label cut to `chars` characters with an ellipsis, so labels never overlap."""
    text = " ".join(str(text).split())
    if len(text) <= chars:
        return text
    return text[: max(1, chars - 1)].rstrip() + "…"


def label_every(count: int, plot_width: float, label_width: float) -> int:
    """Label every n-th of `count` columns so that no two labels touch."""
    if count <= 0:
        return 1
    fits = max(1, int(plot_width // label_width))
    return max(1, math.ceil(count / fits))


def text_width(text: str, font_px: float) -> float:
    """A safe guess of a label's width in a sans-serif font (no font metrics on the server)."""
    return len(text) * font_px * 0.6
