"""Reads for the SLA app. Sections: business calendars (below)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from django.db.models import Prefetch, QuerySet

from alignment import clock
from alignment.cosign import older_and_newer
from alignment.models import Team, User
from alignment.roles import perm
from alignment.working_hours import DAYS
from sla.calendars import CalendarSpec
from sla.models import BusinessCalendar, ClockCalendar, ClockKind, Closure, Weekday

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


# The clocks a rep owes (the assignment clock is the team manager's): under an agreement
# whose `clock_calendar` is "rep" they count the owner's own working hours.
REP_CLOCK_KINDS = (ClockKind.ACCEPT, ClockKind.FIRST_TOUCH, ClockKind.FOLLOW_UP)
RepHours = tuple[str, dict]  # (the rep's zone, their working hours as stored)


def rep_hours(user_ids: Iterable[int | None]) -> dict[int, RepHours]:
    """Each rep's zone and working hours, in one query (none for no ids)."""
    ids = set(user_ids) - {None}
    if not ids:
        return {}
    rows = User.objects.filter(pk__in=ids).values_list(
        "pk", "time_zone", "team__time_zone", "working_hours"
    )
    return {pk: (own or team or "UTC", hours or {}) for pk, own, team, hours in rows}


def calendar_for_clock(
    *, clock_calendar: str, kind: str, team_spec: CalendarSpec, owner: RepHours | None
) -> CalendarSpec:
    """The calendar a clock runs on: the team's, or under a "rep" agreement a rep's clock
    runs on its owner's working hours in their zone, the team's closed dates still closed
    (a rep with no hours set, or none the calendar can use: the team's). `clock_calendar`:
    the agreement's choice."""
    if (
        clock_calendar != ClockCalendar.REP
        or kind not in REP_CLOCK_KINDS
        or not owner
        or not owner[1]
    ):
        return team_spec
    zone, hours = owner
    try:
        return _rep_spec(
            team_spec.closed_dates,
            zone,
            tuple(sorted((day, tuple(span)) for day, span in hours.items())),
        )
    except (ValueError, TypeError, KeyError):
        return team_spec


@lru_cache(maxsize=1024)
def _rep_spec(closed: frozenset, zone: str, hours: tuple) -> CalendarSpec:
    # Keyed by what the spec is made of, so an edited shift is a new entry, never stale;
    # a thousand clocks of the same few reps build a handful of specs.
    week = {
        DAYS.index(day): ((time.fromisoformat(span[0]), time.fromisoformat(span[1])),)
        for day, span in hours
    }
    return CalendarSpec(zone, week, closed)


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


# --- agreements ----------------------------------------------------------------
# Imports for this section sit here so that the sections above stay as they are.

from collections.abc import Mapping  # noqa: E402
from decimal import Decimal  # noqa: E402
from typing import Any  # noqa: E402

from django.db.models import Count  # noqa: E402
from django.shortcuts import get_object_or_404  # noqa: E402

from sla.deadlines import attempt_pace_days  # noqa: E402
from sla.models import (  # noqa: E402
    Agreement,
    AgreementEvent,
    AgreementSignature,
    AgreementStatus,
    SalesGoal,
    TeamCommitment,
)


def _agreement_commitments() -> QuerySet[TeamCommitment]:
    return TeamCommitment.objects.select_related("team")


def _agreement_signatures() -> QuerySet[AgreementSignature]:
    return AgreementSignature.objects.select_related("signed_by").order_by("side")


def agreement_in_force() -> Agreement | None:
    """The agreed Agreement with its goals (in order) and commitments (with teams), or None.

    Three queries. The clock engine reads it whenever it starts clocks.
    """
    return (
        Agreement.objects.filter(status=AgreementStatus.AGREED)
        .prefetch_related("goals", Prefetch("commitments", queryset=_agreement_commitments()))
        .first()
    )


def _folded(value: Any) -> str:
    return str(value).strip().casefold()


def _goal_matches(goal: SalesGoal, score: int | None, fields: Mapping, attributes: Mapping) -> bool:
    if goal.min_score is not None and score is not None and score >= goal.min_score:
        return True
    if goal.match_field:
        name = goal.match_field
        value = fields.get(name) if name in fields else attributes.get(name)
        if value is not None:
            wanted = getattr(goal, "_folded_values", None)
            if wanted is None:
                wanted = frozenset(_folded(v) for v in goal.match_values or [])
                goal._folded_values = wanted  # goals are read-only once agreed
            if _folded(value) in wanted:
                return True
    return False


def goal_for(
    agreement: Agreement,
    *,
    score: int | None,
    fields: Mapping[str, Any],
    attributes: Mapping[str, Any],
) -> SalesGoal:
    """The goal that applies to a lead: the first whose segment matches, else the catch-all.

    A segment matches when the score reaches `min_score` (if set) OR the lead
    field or attribute named `match_field` has one of `match_values`
    (case-insensitive); a goal with both matches if either does. Reads
    `agreement.goals.all()`, so `agreement_in_force()` serves it with no query.
    """
    goals = list(agreement.goals.all())
    if not goals:
        raise LookupError(f"{agreement} has no goals.")
    for goal in goals:
        if goal.is_catch_all or _goal_matches(goal, score, fields, attributes):
            return goal
    # Validation keeps the catch-all last; an agreement without one falls back to its last goal.
    return goals[-1]


def agreement_versions() -> QuerySet[Agreement]:
    return (
        Agreement.objects.select_related("created_by")
        .prefetch_related(Prefetch("signatures", queryset=_agreement_signatures()))
        .annotate(goal_count=Count("goals", distinct=True))
        .order_by("-number")
    )


def agreement_with_details(pk: int) -> QuerySet[Agreement]:
    return (
        Agreement.objects.filter(pk=pk)
        .select_related("created_by", "based_on")
        .prefetch_related(
            "goals",
            "pause_conditions",
            Prefetch("commitments", queryset=_agreement_commitments()),
            Prefetch("signatures", queryset=_agreement_signatures()),
            Prefetch("events", queryset=AgreementEvent.objects.select_related("actor")),
        )
    )


def agreement_detail(pk: int) -> Agreement:
    return get_object_or_404(agreement_with_details(pk))


def agreement_in_force_with_details() -> Agreement | None:
    """The agreement in force with goals, commitments and signatures (no history)."""
    return (
        Agreement.objects.filter(status=AgreementStatus.AGREED)
        .prefetch_related(
            "goals",
            "pause_conditions",
            Prefetch("commitments", queryset=_agreement_commitments()),
            Prefetch("signatures", queryset=_agreement_signatures()),
        )
        .first()
    )


def agreements_waiting_for_signature(user) -> QuerySet[Agreement]:
    """Proposals still missing the signature of a side this person signs for."""
    from alignment.cosign import waiting_for

    proposals = (
        Agreement.objects.filter(status=AgreementStatus.PROPOSED)
        .select_related("created_by")
        .prefetch_related(Prefetch("signatures", queryset=_agreement_signatures()))
        .order_by("proposed_at", "pk")
    )
    return waiting_for(
        proposals, signature_model=AgreementSignature, owner_field="agreement", user=user
    )


def agreement_events() -> QuerySet[AgreementEvent]:
    """Every version's history, newest first."""
    return AgreementEvent.objects.select_related("agreement", "actor").order_by("-at", "-id")


# What an agreement says, in sentences (pages, diffs and notifications share them).


def hours_text(hours: Decimal | int | float | None) -> str:
    if hours is None:
        return "—"
    number = Decimal(str(hours)).normalize()
    text = f"{number:f}"
    return f"{text} business hour{'' if number == 1 else 's'}"


def days_text(days: int | Decimal | None) -> str:
    number = Decimal(str(days)).quantize(Decimal("0.01")).normalize()
    return f"{number:f} business day{'' if number == 1 else 's'}"


FOLLOWUP_SCOPE_TEXT = {
    "sal": "while the lead is SAL",
    "sql": "while the lead is SAL or SQL",
    "opportunity": "while the lead is SAL, SQL or an opportunity",
}


def goal_segment_text(goal: SalesGoal, *, only: bool = False) -> str:
    parts = []
    if goal.min_score is not None:
        parts.append(f"scoring ≥ {goal.min_score}")
    if goal.match_field:
        values = " or ".join(goal.match_values or [])
        parts.append(f"whose {goal.match_field} is {values}")
    if not parts:
        return "every lead" if only else "every other lead"
    return "leads " + " or ".join(parts)


def goal_promise_text(goal: SalesGoal) -> str:
    text = (
        f"accept or reject within {hours_text(goal.accept_hours)} of handoff; "
        f"first touch within {hours_text(goal.first_touch_hours)} of accepting; "
        f"at least {goal.min_attempts} attempt{'' if goal.min_attempts == 1 else 's'}"
    )
    if goal.attempt_days:
        text += f" over {days_text(goal.attempt_days)}"
    text += " before abandoning a lead"
    pace = attempt_pace_days(goal)
    if pace is not None and not (goal.followup_days and goal.followup_days <= pace):
        # Said only where it asks more than the cadence does.
        text += f", each next attempt within {days_text(pace)} of the last until they are made"
    if goal.followup_days:
        text += f"; a touch at least every {days_text(goal.followup_days)}"
    if pace is not None or goal.followup_days:
        text += f" {FOLLOWUP_SCOPE_TEXT.get(goal.followup_through, '')}"
    return text + f". Warning at {goal.warn_percent}% of the time."


def sales_promises(agreement: Agreement) -> list[dict[str, Any]]:
    goals = list(agreement.goals.all())
    return [
        {
            "goal": goal,
            "segment": goal_segment_text(goal, only=len(goals) == 1),
            "promise": goal_promise_text(goal),
        }
        for goal in goals
    ]


def marketing_promises(agreement: Agreement) -> list[str]:
    lines = [
        f"{c.monthly_mqls} MQL{'' if c.monthly_mqls == 1 else 's'} a month to {c.team.name}"
        for c in agreement.commitments.all()
    ]
    lines.append(f"at least {agreement.min_acceptance_rate}% of MQLs accepted by sales")
    lines.append(
        f"at most {agreement.max_incomplete_rate}% of MQLs delivered without the fields "
        "the definition requires"
    )
    return lines


def pause_rules(agreement: Agreement) -> list[str]:
    """What else pauses a lead's clocks (reads `agreement.pause_conditions.all()`)."""
    conditions = list(agreement.pause_conditions.all())
    if not conditions:
        return ["Nothing else pauses a lead's clocks."]
    return [
        f"{c.label}: the rep may pause the lead's clocks, with a note, for at most "
        f"{days_text(c.max_days)}; the next touch ends the pause."
        for c in conditions
    ]


def shared_rules(agreement: Agreement) -> list[str]:
    return [
        f"A breach still open after {hours_text(agreement.escalation_hours)} goes to the arbiter.",
        f"A lead no rep can take yet waits in its team's queue; its manager has it assigned "
        f"within {hours_text(agreement.assign_hours)}.",
        "A rep marked away: their running clocks pause."
        if agreement.pause_when_away
        else "A rep marked away: their clocks keep running.",
        *pause_rules(agreement),
        "A reassigned lead: the new owner gets a fresh deadline."
        if agreement.restart_on_reassign
        else "A reassigned lead: the new owner inherits the deadline.",
        clock_calendar_rule(agreement),
    ]


def clock_calendar_rule(agreement: Agreement) -> str:
    if getattr(agreement, "clock_calendar", ClockCalendar.TEAM) == ClockCalendar.REP:
        return (
            "A rep's clocks (accept, first touch, follow-up) count only the rep's own working "
            "hours, in the rep's time zone; the team's holidays and closures still count as "
            "closed, and a rep with no hours set runs on the team's calendar. The assignment "
            "clock runs on the team's calendar."
        )
    return (
        "Every clock counts business time on the team's calendar (its working week, "
        "holidays and closures), whatever the rep's own hours."
    )


# Side by side.

AGREEMENT_TERMS = [
    ("summary", "Change in a line"),
    ("min_acceptance_rate", "Acceptance rate, at least"),
    ("max_incomplete_rate", "MQLs missing required fields, at most"),
    ("escalation_hours", "Escalate to the arbiter after"),
    ("assign_hours", "Assign a queued lead within"),
    ("pause_when_away", "Clocks pause while a rep is away"),
    ("restart_on_reassign", "Reassignment restarts the clock"),
    ("clock_calendar", "A rep's clocks run on"),
]

GOAL_FIELD_LABELS = {
    "label": "name",
    "min_score": "minimum score",
    "match_field": "field",
    "match_values": "values",
    "accept_hours": "accept within",
    "first_touch_hours": "first touch within",
    "min_attempts": "attempts",
    "attempt_days": "attempt days",
    "followup_days": "follow-up cadence",
    "followup_through": "follow-up through",
    "warn_percent": "warning at",
}


def _term_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if name.endswith("_rate"):
        return f"{value}%"
    if name.endswith("_hours"):
        return hours_text(value)
    if name == "clock_calendar":
        return ClockCalendar(value).label if value in ClockCalendar.values else str(value)
    return str(value or "—")


@dataclass
class GoalChange:
    status: str  # same, changed, added, removed, moved
    old: SalesGoal | None
    new: SalesGoal | None
    changed: list[str]

    @property
    def old_text(self) -> str:
        return f"{goal_segment_text(self.old)}: {goal_promise_text(self.old)}" if self.old else ""

    @property
    def new_text(self) -> str:
        return f"{goal_segment_text(self.new)}: {goal_promise_text(self.new)}" if self.new else ""


@dataclass
class AgreementDiff:
    old: Agreement
    new: Agreement
    terms: list[dict[str, Any]]
    goals: list[GoalChange]
    commitments: list[dict[str, Any]]

    @property
    def has_changes(self) -> bool:
        return (
            any(t["changed"] for t in self.terms)
            or any(g.status != "same" for g in self.goals)
            or any(c["changed"] for c in self.commitments)
        )

    def _count(self, status: str) -> int:
        return sum(1 for g in self.goals if g.status == status)

    @property
    def goals_added(self) -> int:
        return self._count("added")

    @property
    def goals_removed(self) -> int:
        return self._count("removed")

    @property
    def goals_changed(self) -> int:
        return self._count("changed")


def _goal_changes(old_goals: list[SalesGoal], new_goals: list[SalesGoal]) -> list[GoalChange]:
    """Pair goals by name (case-insensitive), then the rest by position."""
    left = list(old_goals)
    pairs: dict[int, SalesGoal] = {}
    for goal in new_goals:
        match = next((o for o in left if _folded(o.label) == _folded(goal.label)), None)
        if match is not None:
            left.remove(match)
            pairs[goal.pk] = match
    for goal in new_goals:
        if goal.pk not in pairs:
            match = next((o for o in left if o.position == goal.position), None)
            if match is not None:
                left.remove(match)
                pairs[goal.pk] = match
    changes = []
    for goal in new_goals:
        old = pairs.get(goal.pk)
        if old is None:
            changes.append(GoalChange("added", None, goal, []))
            continue
        changed = [
            label
            for name, label in GOAL_FIELD_LABELS.items()
            if getattr(old, name) != getattr(goal, name)
        ]
        changes.append(GoalChange("changed" if changed else "same", old, goal, changed))
    changes += [GoalChange("removed", goal, None, []) for goal in left]
    return changes


def agreement_diff(old: Agreement, new: Agreement) -> AgreementDiff:
    """Reads prefetched goals, commitments and pause conditions (`agreement_with_details`)."""
    terms = [
        {
            "label": label,
            "old": _term_text(name, getattr(old, name)),
            "new": _term_text(name, getattr(new, name)),
            "changed": getattr(old, name) != getattr(new, name),
        }
        for name, label in AGREEMENT_TERMS
    ]
    old_rules, new_rules = pause_rules(old), pause_rules(new)
    terms.append(
        {
            "label": "Conditions that pause a lead's clocks",
            "old": " ".join(old_rules),
            "new": " ".join(new_rules),
            "changed": old_rules != new_rules,
        }
    )
    old_commitments = {c.team_id: c for c in old.commitments.all()}
    new_commitments = {c.team_id: c for c in new.commitments.all()}
    teams = {c.team_id: c.team for c in [*old_commitments.values(), *new_commitments.values()]}
    commitments = []
    for team_id, team in sorted(teams.items(), key=lambda item: item[1].name):
        before, after = old_commitments.get(team_id), new_commitments.get(team_id)
        commitments.append(
            {
                "team": team,
                "old": f"{before.monthly_mqls} a month" if before else "—",
                "new": f"{after.monthly_mqls} a month" if after else "—",
                "changed": (before.monthly_mqls if before else None)
                != (after.monthly_mqls if after else None),
            }
        )
    return AgreementDiff(
        old=old,
        new=new,
        terms=terms,
        goals=_goal_changes(list(old.goals.all()), list(new.goals.all())),
        commitments=commitments,
    )


def agreements_for_diff(a: int, b: int) -> tuple[Agreement, Agreement]:
    """Two versions with their content, older first; 404 if either is missing."""
    versions = Agreement.objects.select_related("created_by").prefetch_related(
        "goals", "pause_conditions", Prefetch("commitments", queryset=_agreement_commitments())
    )
    return older_and_newer(
        versions,
        a,
        b,
        order=lambda agreement: agreement.number,
        missing="No such agreement version.",
    )
