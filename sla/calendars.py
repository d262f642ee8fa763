"""Business-time arithmetic: pure functions, no ORM, no clock.

A calendar is a time zone, working intervals per weekday (wall-clock times in
that zone) and closed dates (public holidays and the company's closures).
Every working interval is turned into a pair of UTC instants once per local
date, and the arithmetic steps interval by interval over those pairs, so a
deadline five business days away costs a handful of comparisons, not a walk
minute by minute.

Rules, and why:

- Intervals are converted day by day with zoneinfo, so a 09:00-17:00 day that
  contains a night-time daylight-saving switch is still eight hours, and a day
  whose working hours span the switch is shorter or longer by exactly the
  hour the wall clock skipped or repeated.
- A wall time that does not exist (the hour skipped in spring) is taken as
  the instant of the switch; a wall time that happens twice (the hour repeated
  in autumn) is taken at its first occurrence.
- `is_open` treats an interval as half-open, [start, end): at 17:00 the office
  is closed. A deadline, though, may be the end instant itself (eight hours
  from 09:00 is 17:00 that day, not 09:00 the next morning), and adding zero
  to that instant keeps it. Adding zero from anywhere else in closed time
  gives the next opening. So `add(add(t, a), b) == add(t, a + b)` for every
  a, b >= 0, and `business_time_between` inverts `add_business_time`.
- Intervals may not cross midnight (split them into two days); a calendar with
  no working time at all is refused with a ValueError rather than searched
  forever, and every search gives up after three years of closed days.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "MAX_CLOSED_DAYS",
    "CalendarSpec",
    "NoWorkingTime",
    "add_business_time",
    "business_time_between",
    "intervals_between",
    "is_open",
    "next_open",
]

# A search for open time gives up after this many consecutive days without any.
MAX_CLOSED_DAYS = 3 * 366

# Per-spec cache of converted days; cleared when it grows past this many dates.
_DAY_CACHE_LIMIT = 4096

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)

Interval = tuple[time, time]
UtcInterval = tuple[datetime, datetime]


class NoWorkingTime(ValueError):
    """The calendar has no open time where some was needed."""


def _normalise_day(weekday: int, intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    cleaned: list[Interval] = []
    for pair in intervals:
        try:
            start, end = pair
        except (TypeError, ValueError):
            raise ValueError(
                f"Weekday {weekday}: each working interval is a (start, end) pair of times."
            ) from None
        if not isinstance(start, time) or not isinstance(end, time):
            raise ValueError(f"Weekday {weekday}: interval bounds must be datetime.time values.")
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(
                f"Weekday {weekday}: interval times are wall-clock times in the calendar's "
                "zone and must not carry their own tzinfo."
            )
        if start >= end:
            raise ValueError(
                f"Weekday {weekday}: interval {start:%H:%M}-{end:%H:%M} ends before it starts; "
                "intervals that cross midnight are not supported (split them at midnight)."
            )
        cleaned.append((start, end))
    cleaned.sort()
    merged: list[Interval] = []
    for start, end in cleaned:
        if merged and start < merged[-1][1]:
            prev = merged[-1]
            raise ValueError(
                f"Weekday {weekday}: intervals {prev[0]:%H:%M}-{prev[1]:%H:%M} and "
                f"{start:%H:%M}-{end:%H:%M} overlap."
            )
        if merged and start == merged[-1][1]:
            # Touching intervals are one stretch of open time.
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True, eq=True)
class CalendarSpec:
    """An immutable, hashable business calendar.

    `week` maps a weekday (0 = Monday ... 6 = Sunday) to its working intervals
    as (start, end) wall-clock times; missing days are closed. `closed_dates`
    are local dates with no working time at all (holidays, closures).
    """

    time_zone: str
    week: Mapping[int, tuple[Interval, ...]]
    closed_dates: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _days: dict = field(init=False, repr=False, compare=False, hash=False)
    _has_week: bool = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"{self.time_zone!r} is not an IANA time zone.") from None
        unknown = [day for day in self.week if day not in range(7)]
        if unknown:
            raise ValueError(f"Weekdays are 0 (Monday) to 6 (Sunday), not {unknown[0]!r}.")
        week = {day: _normalise_day(day, self.week.get(day, ())) for day in range(7)}
        set_ = object.__setattr__
        set_(self, "week", MappingProxyType(week))
        set_(self, "closed_dates", frozenset(self.closed_dates))
        set_(self, "_zone", zone)
        set_(self, "_days", {})
        set_(self, "_has_week", any(week.values()))

    def __hash__(self) -> int:
        return hash((self.time_zone, tuple(self.week.items()), self.closed_dates))

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    @property
    def weekly_hours(self) -> timedelta:
        """Nominal open time in a week without closures (wall-clock, ignoring DST)."""
        total = _ZERO
        for intervals in self.week.values():
            for start, end in intervals:
                total += datetime.combine(date.min, end) - datetime.combine(date.min, start)
        return total

    @property
    def business_day(self) -> timedelta:
        """A business day as business time: the average open time of a working weekday.

        On a calendar whose working days are alike (Mon-Fri 09:00-17:00) "two
        business days" from Monday 10:00 is Wednesday 10:00, holidays skipped.
        """
        working = [intervals for intervals in self.week.values() if intervals]
        if not working:
            raise NoWorkingTime("The calendar has no working day, so a business day has no length.")
        return self.weekly_hours / len(working)

    def day_intervals(self, day: date) -> tuple[UtcInterval, ...]:
        """The open intervals of one local date, as UTC instants, in order."""
        key = day.toordinal()
        cached = self._days.get(key)
        if cached is not None:
            return cached
        if day in self.closed_dates:
            result: tuple[UtcInterval, ...] = ()
        else:
            result = tuple(
                (s, e)
                for s, e in (
                    (self._to_utc(day, start), self._to_utc(day, end))
                    for start, end in self.week[day.weekday()]
                )
                if s < e
            )
        if len(self._days) >= _DAY_CACHE_LIMIT:
            self._days.clear()
        self._days[key] = result
        return result

    def _to_utc(self, day: date, wall: time) -> datetime:
        local = datetime.combine(day, wall, tzinfo=self._zone)
        utc = local.astimezone(UTC)
        if utc.astimezone(self._zone).replace(tzinfo=None) == local.replace(tzinfo=None):
            return utc  # exists (fold=0 picks the first of two occurrences)
        return self._switch_instant(local)

    def _switch_instant(self, local: datetime) -> datetime:
        """The instant the wall clock jumped over `local` (a time that never happened)."""
        # fold=1 reads the gap with the offset after the jump, giving an instant
        # before it; fold=0 with the offset before, giving one after it.
        low = local.replace(fold=1).astimezone(UTC)
        high = local.replace(fold=0).astimezone(UTC)
        if low > high:
            low, high = high, low
        before = low.astimezone(self._zone).utcoffset()
        # Switches fall on whole seconds; a gap is at most a few hours: ~14 steps.
        while high - low > timedelta(seconds=1):
            mid = low + (high - low) / 2
            mid = mid.replace(microsecond=0)
            if mid.astimezone(self._zone).utcoffset() == before:
                low = mid
            else:
                high = mid
        return high


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, not naive {moment!r}.")
    return moment.astimezone(UTC)


def _require_week(spec: CalendarSpec) -> None:
    if not spec._has_week:
        raise NoWorkingTime(
            "The calendar has no working hours on any weekday, so no deadline can fall in it."
        )


def _local_date(spec: CalendarSpec, moment_utc: datetime) -> date:
    return moment_utc.astimezone(spec._zone).date()


def add_business_time(spec: CalendarSpec, start: datetime, duration: timedelta) -> datetime:
    """The instant `duration` of open time after `start`, as an aware UTC datetime.

    The result is always inside an open interval or at its end instant, never
    in closed time. A zero duration from closed time gives the next opening.
    """
    if duration < _ZERO:
        raise ValueError(f"duration must not be negative, got {duration}.")
    _require_week(spec)
    cur = _as_utc(start, "start")
    remaining = duration
    # One day back: in a zone that falls back at midnight an earlier date's
    # interval can end after this moment's local midnight.
    day = _local_date(spec, cur) - _ONE_DAY
    day_intervals = spec.day_intervals
    closed_run = 0
    while True:
        intervals = day_intervals(day)
        if intervals:
            closed_run = 0
            for s, e in intervals:
                if e < cur:
                    continue
                if s > cur:
                    cur = s
                available = e - cur
                if remaining <= available:
                    return cur + remaining
                remaining -= available
                cur = e
        else:
            closed_run += 1
            if closed_run > MAX_CLOSED_DAYS:
                raise NoWorkingTime(
                    f"No working time in {MAX_CLOSED_DAYS} consecutive days up to {day}: "
                    "the calendar is closed for too long to place a deadline."
                )
        day += _ONE_DAY


def business_time_between(spec: CalendarSpec, start: datetime, end: datetime) -> timedelta:
    """Open time between two instants (negative when `end` is before `start`)."""
    a = _as_utc(start, "start")
    b = _as_utc(end, "end")
    if b < a:
        return -business_time_between(spec, b, a)
    total = _ZERO
    for s, e in intervals_between(spec, a, b):
        total += e - s
    return total


def intervals_between(spec: CalendarSpec, start: datetime, end: datetime) -> Iterable[UtcInterval]:
    """The open stretches within [start, end], clipped to it, in UTC and in order."""
    a = _as_utc(start, "start")
    b = _as_utc(end, "end")
    if b <= a:
        return
    day = _local_date(spec, a) - _ONE_DAY
    last = _local_date(spec, b) + _ONE_DAY
    day_intervals = spec.day_intervals
    while day <= last:
        for s, e in day_intervals(day):
            if e <= a:
                continue
            if s >= b:
                return
            yield (max(s, a), min(e, b))
        day += _ONE_DAY


def is_open(spec: CalendarSpec, moment: datetime) -> bool:
    """Whether `moment` is in open time (an interval's end instant is closed)."""
    m = _as_utc(moment, "moment")
    day = _local_date(spec, m)
    for d in (day - _ONE_DAY, day):
        for s, e in spec.day_intervals(d):
            if s <= m < e:
                return True
    return False


def next_open(spec: CalendarSpec, moment: datetime) -> datetime:
    """`moment` itself (in UTC) if open, else the start of the next open interval."""
    _require_week(spec)
    cur = _as_utc(moment, "moment")
    day = _local_date(spec, cur) - _ONE_DAY
    closed_run = 0
    while True:
        intervals = spec.day_intervals(day)
        if intervals:
            closed_run = 0
            for s, e in intervals:
                if e <= cur:
                    continue
                return max(s, cur)
        else:
            closed_run += 1
            if closed_run > MAX_CLOSED_DAYS:
                raise NoWorkingTime(
                    f"No working time in the {MAX_CLOSED_DAYS} days after {moment:%Y-%m-%d}."
                )
        day += _ONE_DAY
