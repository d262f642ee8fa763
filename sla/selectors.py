"""Reads for the SLA app. Sections: business calendars (below)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from django.db.models import Prefetch, QuerySet

from alignment import clock
from alignment.models import Team, User
from alignment.roles import perm
from sla.calendars import CalendarSpec
from sla.models import BusinessCalendar, Closure, Weekday

# --- business calendars ------------------------------------------------------

# A team without a calendar of its own works Monday to Friday, 09:00-17:00,
# in the team's time zone, with no holidays.
DEFAULT_WEEK: dict[int, tuple[tuple[time, time], ...]] = {
    day: ((time(9), time(17)),) for day in range(5)
}

# Public holidays go into a spec for the last year and the next three: the
# arithmetic never searches further than three years ahead.
HOLIDAY_YEARS_BEFORE = 1
HOLIDAY_YEARS_AFTER = 3

_SPEC_CACHE_SIZE = 256
# (calendar id, revision, created, first year, last year) -> spec. Per process; the
# revision, bumped by every edit, makes a stale entry unreachable.
# The creation time guards against a deleted calendar's id being reused (SQLite).
_spec_cache: OrderedDict[tuple, CalendarSpec] = OrderedDict()


def holiday_years(today: date | None = None) -> range:
    year = (today or clock.now().date()).year
    return range(year - HOLIDAY_YEARS_BEFORE, year + HOLIDAY_YEARS_AFTER + 1)


@lru_cache(maxsize=64)
def default_spec(time_zone: str) -> CalendarSpec:
    return CalendarSpec(time_zone, DEFAULT_WEEK)


def calendar_spec(calendar: BusinessCalendar) -> CalendarSpec:
    """The spec of a calendar row, built once per revision (and per span of years).

    A hit costs no query; a miss reads the intervals and closures (none when
    they are prefetched) and the public holidays.
    """
    years = holiday_years()
    key = (calendar.pk, calendar.revision, calendar.created_at, years.start, years.stop)
    spec = _spec_cache.get(key)
    if spec is not None:
        _spec_cache.move_to_end(key)
        return spec
    spec = calendar.spec(years=years)
    _spec_cache[key] = spec
    while len(_spec_cache) > _SPEC_CACHE_SIZE:
        _spec_cache.popitem(last=False)
    return spec


def clear_spec_cache() -> None:
    _spec_cache.clear()


def calendar_for_team(team: Team | None) -> CalendarSpec:
    """The calendar a team's clocks run on, or the default week in its time zone.

    Reads one row (the calendar's id and revision) unless `team` came with
    `select_related("business_calendar")`; the intervals, closures and
    holidays come from the cache after the first call.
    """
    if team is None:
        return default_spec("UTC")
    try:
        calendar = team.business_calendar
    except BusinessCalendar.DoesNotExist:
        return default_spec(team.time_zone)
    return calendar_spec(calendar)


def calendars_for_teams(team_ids: Iterable[int]) -> dict[int, CalendarSpec]:
    """Specs for many teams in one query (ingest and the scan assign in bulk)."""
    ids = set(team_ids)
    teams = Team.objects.filter(pk__in=ids).select_related("business_calendar")
    return {team.pk: calendar_for_team(team) for team in teams}


def can_edit_calendar(user: User, calendar: BusinessCalendar | None = None, *, team=None) -> bool:
    """An admin edits any calendar; a manager edits the calendar of the team they manage."""
    if not user.is_authenticated:
        return False
    if user.has_perm(perm("manage_organisation")):
        return True
    team = team if team is not None else (calendar.team if calendar is not None else None)
    return bool(
        team is not None and user.has_perm(perm("manage_team")) and team.manager_id == user.pk
    )


def calendar_list() -> QuerySet[BusinessCalendar]:
    return BusinessCalendar.objects.select_related("team", "team__manager").prefetch_related(
        "intervals"
    )


def teams_without_calendar() -> QuerySet[Team]:
    return Team.objects.filter(business_calendar__isnull=True).select_related("manager")


def teams_user_may_give_a_calendar(user: User) -> QuerySet[Team]:
    """Teams with no calendar yet whose calendar `user` may create."""
    teams = teams_without_calendar()
    if user.has_perm(perm("manage_organisation")):
        return teams
    if user.has_perm(perm("manage_team")):
        return teams.filter(manager=user)
    return teams.none()


def calendar_with_details(pk: int) -> QuerySet[BusinessCalendar]:
    return (
        BusinessCalendar.objects.filter(pk=pk)
        .select_related("team", "team__manager")
        .prefetch_related("intervals", Prefetch("closures", queryset=Closure.objects.all()))
    )


@dataclass(frozen=True)
class WeekRow:
    weekday: int
    label: str
    intervals: tuple[tuple[time, time], ...]

    @property
    def hours(self) -> timedelta:
        return sum(
            (
                datetime.combine(date.min, e) - datetime.combine(date.min, s)
                for s, e in self.intervals
            ),
            timedelta(0),
        )

    @property
    def hours_text(self) -> str:
        minutes = int(self.hours.total_seconds() // 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"

    @property
    def as_text(self) -> str:
        return ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in self.intervals)


def week_rows(calendar: BusinessCalendar) -> list[WeekRow]:
    """Monday to Sunday with their intervals (reads the prefetched intervals)."""
    by_day: dict[int, list] = {day: [] for day in range(7)}
    for interval in calendar.intervals.all():
        by_day[interval.weekday].append((interval.start, interval.end))
    return [WeekRow(day, Weekday(day).label, tuple(sorted(by_day[day]))) for day in range(7)]


def week_summary(rows: list[WeekRow]) -> list[str]:
    """Runs of weekdays with equal hours, e.g. ['Mon-Fri 09:00-12:00, 13:00-17:00']."""
    runs: list[tuple[int, int, WeekRow]] = []
    for row in rows:
        if not row.intervals:
            continue
        if runs and runs[-1][1] == row.weekday - 1 and runs[-1][2].intervals == row.intervals:
            runs[-1] = (runs[-1][0], row.weekday, runs[-1][2])
        else:
            runs.append((row.weekday, row.weekday, row))
    parts = []
    for first, last, row in runs:
        days = (
            rows[first].label[:3]
            if first == last
            else (f"{rows[first].label[:3]}-{rows[last].label[:3]}")
        )
        parts.append(f"{days} {row.as_text}")
    return parts


@dataclass(frozen=True)
class Holiday:
    day: date
    name: str
    on_working_day: bool


def upcoming_holidays(calendar: BusinessCalendar, *, start: date, days: int = 365) -> list[Holiday]:
    """Public holidays from `start` for `days` days, marking those that close a working day."""
    end = start + timedelta(days=days)
    working = {row.weekday for row in week_rows(calendar) if row.intervals}
    found = calendar.holiday_dates(range(start.year, end.year + 1))
    return [
        Holiday(day, name, day.weekday() in working)
        for day, name in sorted(found.items())
        if start <= day < end
    ]


def upcoming_closures(calendar: BusinessCalendar, *, today: date) -> list[Closure]:
    """Closures not yet over (reads the prefetched closures)."""
    return [closure for closure in calendar.closures.all() if closure.last_day >= today]
