"""How long each kind of clock runs under a goal, and when it warns and falls due.

The one place the agreement's numbers become deadlines: the clock engine
(sla.clocks) starts every clock through `clock_plan`, pauses and resumes them
with `resumed_deadlines`; the replay of an agreement over past leads (sla.whatif)
takes the same `clock_spans` and places them on a `Timeline`, which gives the same
instants as `add_business_time` (tested against it, and against what the live
engine recorded on the demo's history). Pure: a goal (or anything with
its fields), a calendar spec and times in, times out; no query, no clock.

Business days are business time on the clock's calendar: a business day is the
calendar's average working day (`CalendarSpec.business_day`), so "a touch at
least every 2 business days" from Monday 10:00 falls due on Wednesday 10:00 on
a Monday-to-Friday calendar, a holiday in between skipped, and a paused or
recomputed follow-up clock behaves like every other clock (it keeps `hours`).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from leads.stages import Stage
from sla.calendars import CalendarSpec, add_business_time
from sla.models import ClockKind, FollowUpThrough

# A goal's `followup_through` -> the working stages its follow-up applies in.
FOLLOWUP_STAGES: dict[str, tuple[str, ...]] = {
    FollowUpThrough.SAL: (Stage.SAL,),
    FollowUpThrough.SQL: (Stage.SAL, Stage.SQL),
    FollowUpThrough.OPPORTUNITY: (Stage.SAL, Stage.SQL, Stage.OPPORTUNITY),
}
CENT = Decimal("0.01")


class Goal(Protocol):
    """What a deadline needs of a SalesGoal (a replay may pass its own objects)."""

    accept_hours: Decimal
    first_touch_hours: Decimal
    min_attempts: int
    attempt_days: int
    followup_days: int | None
    followup_through: str
    warn_percent: int


def hours(value: Decimal | float) -> timedelta:
    return timedelta(seconds=float(value) * 3600)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


class Timeline:
    """One calendar's open time from `first` to `last` (local dates), laid end to end.

    Each open interval is kept as integer microseconds since the epoch with the
    open time before it, so a deadline is two binary searches instead of a walk
    day by day: a replay of an agreement places hundreds of thousands of clocks
    on one timeline. `add` gives exactly what `add_business_time` gives (tested
    with hypothesis); outside the span, or for a zero duration, it is that very
    function.
    """

    def __init__(self, spec: CalendarSpec, first: date, last: date) -> None:
        self.spec = spec
        starts: list[int] = []
        ends: list[int] = []
        before: list[int] = []  # open time before each interval
        total = 0
        day = first - timedelta(days=1)
        while day <= last:
            for s, e in spec.day_intervals(day):
                start, end = (s - _EPOCH) // _MICRO, (e - _EPOCH) // _MICRO
                starts.append(start)
                ends.append(end)
                before.append(total)
                total += end - start
            day += timedelta(days=1)
        self._starts, self._ends, self._before = starts, ends, before
        self._upto = [b + (e - s) for s, e, b in zip(starts, ends, before, strict=True)]
        self._n = len(ends)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """`add_business_time(spec, start, duration)`, on the timeline."""
        return as_datetime(self.add_us(as_us(start), duration // _MICRO))

    def add_us(self, moment: int, wanted: int) -> int:
        """`add`, in microseconds since the epoch (a replay keeps its times so)."""
        n = self._n
        i = bisect_right(self._ends, moment)
        if wanted <= 0 or i == 0 or i == n:
            late = add_business_time(self.spec, as_datetime(moment), _MICRO * wanted)
            return as_us(late)
        starts, before = self._starts, self._before
        start = starts[i]
        # Open time before `moment`; in closed time, the next opening's.
        target = before[i] + (moment - start if moment > start else 0) + wanted
        j = bisect_left(self._upto, target, i)
        if j == n:
            return as_us(add_business_time(self.spec, as_datetime(moment), _MICRO * wanted))
        return starts[j] + target - before[j]


def as_us(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICRO


def as_datetime(us: int) -> datetime:
    return _EPOCH + _MICRO * us


def spans(goal_hours: Decimal, warn_percent: int) -> tuple[timedelta, timedelta]:
    """(warn after, due after): the business time from a clock's start to its warning and
    to its deadline."""
    total = hours(goal_hours)
    return total * warn_percent / 100, total


def deadlines(
    spec: CalendarSpec, start: datetime, goal_hours: Decimal, warn_percent: int
) -> tuple[datetime, datetime]:
    """(warn_at, due_at) for a goal started at `start`, in business time."""
    warn, due = spans(goal_hours, warn_percent)
    return add_business_time(spec, start, warn), add_business_time(spec, start, due)


def resumed_deadlines(
    spec: CalendarSpec,
    at: datetime,
    remaining: timedelta,
    goal_hours: Decimal,
    warn_percent: int,
) -> tuple[datetime, datetime]:
    """(warn_at, due_at) of a paused clock resumed at `at` with `remaining` business time
    left: its warning keeps its place before the deadline (at once if already past)."""
    warn_left = remaining - hours(goal_hours) * (100 - warn_percent) / 100
    return (
        add_business_time(spec, at, max(warn_left, timedelta(0))),
        add_business_time(spec, at, remaining),
    )


def attempt_pace_days(goal: Goal) -> Decimal | None:
    """Business days from one attempt to the next while the agreed attempts are under
    way: the K attempts spread evenly over their D days. None: no pace (K < 2 or D = 0)."""
    if goal.min_attempts < 2 or not goal.attempt_days:
        return None
    return Decimal(goal.attempt_days) / (goal.min_attempts - 1)


def followup_applies(goal: Goal, stage: str) -> bool:
    return stage in FOLLOWUP_STAGES.get(goal.followup_through, ())


def followup_days(goal: Goal, *, stage: str, touches: int) -> Decimal | None:
    """Business days to the next touch after `touches` touches, in `stage`: the cadence,
    or sooner the attempts' pace until the agreed attempts are made. None: nothing due
    (no cadence and the attempts made, or a stage the goal's follow-up does not cover)."""
    if not followup_applies(goal, stage):
        return None
    candidates = []
    if goal.followup_days:
        candidates.append(Decimal(goal.followup_days))
    pace = attempt_pace_days(goal)
    if pace is not None and touches < goal.min_attempts:
        candidates.append(pace)
    return min(candidates) if candidates else None


def business_days_hours(spec: CalendarSpec, days: Decimal | int) -> Decimal:
    """`days` business days of `spec` in business hours (to the hundredth)."""
    day = Decimal(spec.business_day.total_seconds()) / 3600
    return (Decimal(days) * day).quantize(CENT, rounding=ROUND_HALF_UP)


def goal_hours(
    goal: Goal, kind: str, *, spec: CalendarSpec, stage: str = Stage.SAL, touches: int = 0
) -> Decimal | None:
    """The business hours a clock of `kind` gets under `goal`; None when the goal asks
    for no such clock now."""
    if kind == ClockKind.ACCEPT:
        return goal.accept_hours
    if kind == ClockKind.FIRST_TOUCH:
        return goal.first_touch_hours
    if kind == ClockKind.FOLLOW_UP:
        days = followup_days(goal, stage=stage, touches=touches)
        return None if days is None else business_days_hours(spec, days)
    raise ValueError(f"No goal gives a {kind!r} clock its hours.")


@dataclass(frozen=True)
class ClockPlan:
    kind: str
    hours: Decimal
    warn_at: datetime
    due_at: datetime


def clock_spans(
    spec: CalendarSpec, goal: Goal, kind: str, *, stage: str = Stage.SAL, touches: int = 0
) -> tuple[Decimal, timedelta, timedelta] | None:
    """The hours a clock of `kind` gets under `goal` and the business time from its start
    to its warning and to its deadline; None when the goal asks for none now. What
    `clock_plan` places on the calendar; a replay places the same on a `Timeline`."""
    goal_hours_ = goal_hours(goal, kind, spec=spec, stage=stage, touches=touches)
    if goal_hours_ is None:
        return None
    return (goal_hours_, *spans(goal_hours_, goal.warn_percent))


def clock_plan(
    spec: CalendarSpec,
    goal: Goal,
    kind: str,
    start: datetime,
    *,
    stage: str = Stage.SAL,
    touches: int = 0,
) -> ClockPlan | None:
    """The clock of `kind` a lead gets at `start` under `goal`: its hours, warning and
    deadline on `spec`; None when the goal asks for none (e.g. no follow-up in `stage`).

    `stage` and `touches` are the lead's after the event that starts the clock (a
    follow-up clock starts after a touch: `touches` counts it)."""
    found = clock_spans(spec, goal, kind, stage=stage, touches=touches)
    if found is None:
        return None
    goal_hours_, warn, due = found
    return ClockPlan(
        kind, goal_hours_, add_business_time(spec, start, warn), add_business_time(spec, start, due)
    )
