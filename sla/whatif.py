"""What an agreement would have meant: a draft replayed over real history.

`replay` reads the period's lead events in one ordered query (times as integer
microseconds worked out by PostgreSQL) and the leads' segment fields in another,
then walks each lead's events the way the live clock engine
(sla.clocks.on_lead_events) reacts to them: a hand-off starts the accept clock,
an accept meets it and starts the first-touch clock, a touch meets that and
starts the follow-up, a close cancels, an agreed pause holds. Every clock's span
comes from `sla.deadlines.clock_spans`, the function the live engine's
`clock_plan` places its clocks with, and its deadline from one `Timeline` per
calendar (exactly `add_business_time`, faster); the scan's rules decide what
counts as a breach (a running clock whose deadline passed: at its deadline) and
an escalation (a breach still unresolved `escalation_hours` of business time
later). Both agreements are replayed in the same pass; a lead whose goal has
the same terms under both is replayed once. A deadline is placed only when it
decides something: a clock stopped before its span has run on the wall clock
was in time (business time never runs faster).

Not replayed: an agreement whose reps' clocks run on their own working hours
(`clock_calendar` "rep"): every clock is placed on its team's calendar, and the page
says so (`rep_hours_caveat`); "rep away" pauses (who was away when is not in the lead events,
only in the audit log's `member.away` entries, and the clocks an agreed pause
holds while the rep is away would have to be told apart), and a score that
changed after the lead's clocks started (the current score picks the goal).
Marketing's commitment is judged on the volume and the acceptance rate.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BigIntegerField, F, Func
from django.db.models.fields.json import KeyTextTransform

from alignment import clock
from alignment.inputs import query_date
from alignment.models import Team, User
from alignment.numbers import count
from leads.models import Lead, LeadEvent
from leads.stages import Action
from sla import selectors
from sla.calendars import business_time_between
from sla.clocks import CONTACT_FIELDS, TOUCH_KINDS
from sla.commitment import next_month
from sla.deadlines import (
    _MICRO,
    Timeline,
    as_datetime,
    as_us,
    clock_spans,
    followup_applies,
    hours,
    resumed_deadlines,
)
from sla.models import (
    Agreement,
    AgreementReplay,
    AgreementStatus,
    BusinessCalendar,
    ClockCalendar,
    ClockKind,
    ReplayState,
)

log = logging.getLogger(__name__)

DEFAULT_DAYS = 90
MAX_DAYS = 731  # two years
# Deadlines of clocks started at the period's end still fall this far on.
_SPAN_AFTER = timedelta(days=120)

KINDS = (
    Action.HAND_OFF,
    Action.ACCEPT,
    Action.REJECT,
    Action.TOUCH,
    Action.QUALIFY,
    Action.CONVERT,
    Action.CLOSE,
    Action.RETURN,
    Action.RECYCLE,
    Action.DISQUALIFY,
    Action.REASSIGN,
    Action.PAUSE,
    Action.MERGE,
)
CANCELS_ALL = frozenset(
    (Action.CLOSE, Action.RETURN, Action.RECYCLE, Action.DISQUALIFY, Action.MERGE)
)
QUALIFIES = frozenset((Action.QUALIFY, Action.CONVERT))
# Plain strings: the replay compares them half a million times.
HAND_OFF, ACCEPTED, REJECTED = str(Action.HAND_OFF), str(Action.ACCEPT), str(Action.REJECT)
TOUCHED, REASSIGNED, PAUSED = str(Action.TOUCH), str(Action.REASSIGN), str(Action.PAUSE)
ACCEPT, FIRST_TOUCH, FOLLOW_UP = (
    str(ClockKind.ACCEPT),
    str(ClockKind.FIRST_TOUCH),
    str(ClockKind.FOLLOW_UP),
)
ACCEPT_ONLY, FOLLOW_UP_ONLY = (ACCEPT,), (FOLLOW_UP,)
ALL_KINDS = (ACCEPT, FIRST_TOUCH, FOLLOW_UP)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# -- the period ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    team_ids: tuple[int, ...] = ()
    # When it is replayed: a clock still running then is judged then, as the scan would.
    now: datetime | None = field(default=None, compare=False)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(), tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        end = datetime.combine(self.end + timedelta(days=1), time(), tzinfo=UTC)
        return min(end, self.now) if self.now is not None else end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_dict(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "teams": list(self.team_ids),
        }


def _date(value, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return query_date(str(value), name=name)


def replay_period(*, start=None, end=None, teams: Iterable = (), now: datetime) -> Period:
    """The period and teams to replay, from what a person typed: by default the 90 days
    up to today and every sales team. Refused (ValidationError, by field): a date that
    is not one, an end before the start or after today, more than two years, a team that
    is not a sales team."""
    today = now.astimezone(UTC).date()
    last = _date(end, "end") or today
    first = _date(start, "start") or last - timedelta(days=DEFAULT_DAYS - 1)
    if last > today:
        raise ValidationError({"end": [f"The period must end by today ({today:%Y-%m-%d})."]})
    if last < first:
        raise ValidationError({"end": ["The period ends before it starts."]})
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise ValidationError(
            {"start": [f"A replay covers at most {MAX_DAYS} days (two years); this is {days}."]}
        )
    ids: set[int] = set()
    for value in teams:
        try:
            ids.add(int(value))
        except (TypeError, ValueError):
            raise ValidationError({"teams": [f"{value!r} is not a team id."]}) from None
    if ids:
        known = set(Team.objects.filter(pk__in=ids, side="sales").values_list("pk", flat=True))
        if ids - known:
            raise ValidationError(
                {"teams": [f"No sales team has id {min(ids - known)}; choose sales teams."]}
            )
    return Period(first, last, tuple(sorted(ids)), now=now)


# -- the replay ------------------------------------------------------------------------------

# A replayed clock is a list (half a million of them: cheaper than objects), these its fields;
# times in microseconds since the epoch (sla.deadlines.as_us). Its deadline (DUE) is placed
# on the timeline when it is first needed: never for a clock stopped before START + SPAN,
# since business time never runs faster than the clock on the wall.
KIND, DUE, COUNTED, HOURS, OWNER, TEAM, LABEL, PAUSED, LEFT, START, SPAN = range(11)
# Every zone's offset from UTC is a whole number of quarter hours: a breach's part of the
# day is its quarter hour's, worked out once per quarter hour when the tallies are made.
QUARTER = 15 * 60 * 1_000_000
DAY = 86_400_000_000


@dataclass
class _Tally:
    met: int = 0
    breached: int = 0
    escalated: int = 0

    def row(self) -> dict:
        judged = self.met + self.breached
        return {
            "met": self.met,
            "breached": self.breached,
            "escalated": self.escalated,
            "attainment": round(100 * self.met / judged, 1) if judged else None,
        }


@dataclass
class Outcome:
    """What one agreement's clocks would have done over the period."""

    goals: dict[tuple[str, str], _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    teams: dict[int | None, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    reps: dict[int | None, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    total: _Tally = field(default_factory=_Tally)
    open_at_end: int = 0
    # (team, "Monday morning") -> breaches there: where a change bites.
    when: Counter = field(default_factory=Counter)
    breaches: list[tuple[int, str, datetime]] | None = None
    # While replaying, one row per clock judged: (goal label, kind, team, owner, "met" |
    # "breached" | "escalated"), and (team, quarter hour) per breach; `fold` counts them.
    judged: list[tuple] = field(default_factory=list)
    late: list[tuple[int | None, int]] = field(default_factory=list)

    def mark(self) -> tuple[int, int, int, int]:
        """Where the rows stand, for `copy`."""
        kept = len(self.breaches) if self.breaches is not None else 0
        return len(self.judged), len(self.late), self.open_at_end, kept

    def copy(self, other: Outcome, mark: tuple[int, int, int, int]) -> None:
        """What `other` added since `mark` (its replay of the same lead under the same terms)."""
        self.judged.extend(other.judged[mark[0] :])
        self.late.extend(other.late[mark[1] :])
        self.open_at_end += other.open_at_end - mark[2]
        if self.breaches is not None and other.breaches is not None:
            self.breaches.extend(other.breaches[mark[3] :])

    def fold(self, zone_of: Callable) -> Outcome:
        for (label, kind, team, owner, how), n in Counter(self.judged).items():
            for t in (self.goals[(label, kind)], self.teams[team], self.reps[owner], self.total):
                if how == "met":
                    t.met += n
                else:
                    t.breached += n
                    t.escalated += n if how == "escalated" else 0
        for (team, quarter), n in Counter(self.late).items():
            local = as_datetime(quarter * QUARTER).astimezone(zone_of(team))
            self.when[(team, _part_of_day(local))] += n
        self.judged, self.late = [], []
        return self


def _part_of_day(moment: datetime) -> str:
    part = "morning" if moment.hour < 12 else "afternoon" if moment.hour < 17 else "evening"
    return f"{WEEKDAYS[moment.weekday()]} {part}"


class _Replayer:
    """One agreement's clocks for one lead after another (the live engine's reactions)."""

    def __init__(self, agreement: Agreement, period: Period, specs, timelines, keep: bool):
        self.restart_on_reassign = agreement.restart_on_reassign
        self.escalation = hours(agreement.escalation_hours) // _MICRO
        self.start, self.end = as_us(period.start_at), as_us(period.end_at)
        self.specs = specs
        self.timelines = timelines
        self.spans: dict[tuple, tuple | None] = {}
        self.out = Outcome(breaches=[] if keep else None)

    def _plan(self, goal, kind, team, owner, at: int, stage, touches) -> list | None:
        """The clock `clock_spans` gives, placed on the team's timeline. Its span is worked
        out once per goal, kind, team, and for a follow-up stage and attempts made."""
        if kind is FOLLOW_UP:
            touches = min(touches, goal.min_attempts)
        else:
            stage, touches = "", 0
        key = (id(goal), kind, team, stage, touches)
        found = self.spans.get(key, False)
        if found is False:
            found = clock_spans(self.specs(team), goal, kind, stage=stage, touches=touches)
            if found is not None:
                found = (found[0], found[2] // _MICRO)
            self.spans[key] = found
        if found is None:
            return None
        counted = self.start <= at < self.end
        return [kind, None, counted, found[0], owner, team, goal.label, False, None, at, found[1]]

    def _due(self, c: list) -> int:
        due = c[DUE]
        if due is None:
            due = c[DUE] = self.timelines(c[TEAM]).add_us(c[START], c[SPAN])
        return due

    def _finish(self, lead_id: int, c: list, resolved: int | None, met: bool = True) -> None:
        """Tally a clock met (or cancelled: `met` False) at `resolved`; None: still open at
        the period's end. Late is a deadline passed before it stopped (sla.clocks._close)
        or by the period's end (the scan)."""
        if not c[COUNTED]:
            return
        if c[PAUSED]:
            late = False
        elif resolved is None:
            late = c[START] + c[SPAN] <= self.end and self._due(c) <= self.end
        else:
            late = c[START] + c[SPAN] < resolved and self._due(c) < resolved
        out = self.out
        if not late:
            if resolved is None:
                out.open_at_end += 1
            elif met:
                out.judged.append((c[LABEL], c[KIND], c[TEAM], c[OWNER], "met"))
            return
        due = c[DUE]
        out.late.append((c[TEAM], due // QUARTER))
        if out.breaches is not None:
            out.breaches.append((lead_id, c[KIND], as_datetime(due)))
        # As for the deadline: not escalated if stopped before the escalation's wall time.
        by = resolved if resolved is not None else self.end + 1
        if due + self.escalation < by and self._escalates_at(c) < by:
            how = "escalated"
        else:
            how = "breached"
        out.judged.append((c[LABEL], c[KIND], c[TEAM], c[OWNER], how))

    def _escalates_at(self, c: list) -> int:
        return self.timelines(c[TEAM]).add_us(c[DUE], self.escalation)

    def _stop(self, lead_id: int, clocks: list, kinds, at: int, met: bool = True) -> None:
        """Finish the clocks of `kinds`, in the order they started; the others run on. A
        clock stopped before its wall-clock span is up was in time (`_finish`, quicker)."""
        running = []
        for c in clocks:
            if c[KIND] not in kinds:
                running.append(c)
            elif at > c[START] + c[SPAN]:
                self._finish(lead_id, c, at, met)
            elif met and c[COUNTED]:
                self.out.judged.append((c[LABEL], c[KIND], c[TEAM], c[OWNER], "met"))
        clocks[:] = running

    def _hold(self, c: list, at: int) -> None:
        spec = self.specs(c[TEAM])
        left = business_time_between(spec, as_datetime(at), as_datetime(self._due(c)))
        c[PAUSED], c[LEFT] = True, max(left, timedelta(0))

    def _release(self, clocks: list, goal, at: int) -> None:
        for c in clocks:
            if c[PAUSED]:
                spec = self.specs(c[TEAM])
                _, due = resumed_deadlines(
                    spec, as_datetime(at), c[LEFT], c[HOURS], goal.warn_percent
                )
                c[DUE], c[PAUSED], c[LEFT] = as_us(due), False, None
                c[START], c[SPAN] = c[DUE], 0

    def _qualify(self, lead_id: int, goal, clocks: list, stage: str, at: int) -> bool:
        """Cancel the follow-ups the new stage is past; True: no clock is held any more."""
        if not followup_applies(goal, stage):
            self._stop(lead_id, clocks, FOLLOW_UP_ONLY, at, False)
        return not any(c[PAUSED] for c in clocks)

    def _reassign(self, lead_id, goal, clocks, at, stage, touches, owner, team) -> bool:
        """The new owner's clocks: restarted (all, or those already late); True if any was."""
        restart = [
            c
            for c in clocks
            if self.restart_on_reassign
            or (not c[PAUSED] and c[START] + c[SPAN] <= at and self._due(c) <= at)
        ]
        for c in restart:
            self._finish(lead_id, c, at, False)
            clocks.remove(c)
            again = self._plan(goal, c[KIND], team, owner, at, stage, touches)
            if again is not None:
                clocks.append(again)
        for c in clocks:
            c[OWNER] = owner
        return bool(restart)

    def lead(self, lead_id: int, goal, events: list[tuple]) -> None:
        clocks: list[list] = []
        stage, touches, owner, team = "", 0, None, None
        pause_until: int | None = None
        plan, stop = self._plan, self._stop
        for kind, at, to_stage, to, to_team, until in events:
            if pause_until is not None and pause_until <= at:
                self._release(clocks, goal, pause_until)
                pause_until = None
            if to_stage:
                stage = to_stage
            if kind is HAND_OFF:
                owner = int(to) if to else owner
                team = int(to_team) if to_team else team
                if clocks:
                    stop(lead_id, clocks, ACCEPT_ONLY, at, False)
                if owner:
                    clocks.append(plan(goal, ACCEPT, team, owner, at, stage, touches))
            elif kind is ACCEPTED:
                if clocks:
                    stop(lead_id, clocks, ACCEPT_ONLY, at)
                clocks.append(plan(goal, FIRST_TOUCH, team, owner, at, stage, touches))
            elif kind is REJECTED:
                if clocks:
                    stop(lead_id, clocks, ACCEPT_ONLY, at)
            elif kind is TOUCHED:
                touches += 1
                if clocks:
                    stop(lead_id, clocks, TOUCH_KINDS, at)
                if pause_until is not None:
                    self._release(clocks, goal, at)
                    pause_until = None
                c = plan(goal, FOLLOW_UP, team, owner, at, stage, touches)
                if c is not None:
                    clocks.append(c)
            elif kind in CANCELS_ALL:
                if clocks:
                    stop(lead_id, clocks, ALL_KINDS, at, False)
                pause_until = None
            elif kind in QUALIFIES:
                if self._qualify(lead_id, goal, clocks, stage, at):
                    pause_until = None
            elif kind is REASSIGNED:
                owner = int(to) if to else owner
                if clocks and self._reassign(
                    lead_id, goal, clocks, at, stage, touches, owner, team
                ):
                    pause_until = None
            elif kind is PAUSED and until is not None:
                for c in clocks:
                    if not c[PAUSED]:
                        self._hold(c, at)
                pause_until = until
        if pause_until is not None and pause_until <= self.end:
            self._release(clocks, goal, pause_until)
        for c in clocks:
            self._finish(lead_id, c, None)


def _segment_inputs(agreements: list[Agreement]) -> tuple[list[str], list[str]]:
    """The lead fields and attributes the agreements' segments read."""
    names = {g.match_field for a in agreements for g in a.goals.all() if g.match_field}
    fields = sorted(n for n in names if n in (*CONTACT_FIELDS, "source"))
    return fields, sorted(names - set(fields))


def _rows(queryset, size: int = 20000):
    """A values_list's rows as the database driver gives them, a batch at a time from a
    server-side cursor (no per-row conversion: the replay reads hundreds of thousands)."""
    sql, params = queryset.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(size):
            yield from batch


def _lead_rows(handed, agreements: list[Agreement]):
    """(lead, score, *segment fields, *segment attributes) of the leads handed off."""
    fields, attributes = _segment_inputs(agreements)
    aliases = {f"a{i}": KeyTextTransform(name, "attributes") for i, name in enumerate(attributes)}
    return _rows(
        Lead.objects.filter(pk__in=handed.values("lead_id"))
        .annotate(**aliases)
        .values_list("pk", "score", *fields, *aliases)
    )


class EpochMicroseconds(Func):
    """A moment as whole microseconds since the epoch, worked out by PostgreSQL (a replay
    reads hundreds of thousands: no datetime object is made for them)."""

    template = "(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint"
    output_field = BigIntegerField()


def _event_rows(handed, period: Period):
    """(lead, kind, microseconds, to_stage, to, team, until) in each lead's order."""
    on_postgres = connection.vendor == "postgresql"
    rows = _rows(
        LeadEvent.objects.filter(
            lead_id__in=handed.values("lead_id"), kind__in=KINDS, occurred_at__lt=period.end_at
        )
        .annotate(
            w_at=EpochMicroseconds("occurred_at") if on_postgres else F("occurred_at"),
            w_to=KeyTextTransform("to", "data"),
            w_team=KeyTextTransform("team", "data"),
            w_until=KeyTextTransform("until", "data"),
        )
        .order_by("lead_id", "occurred_at", "id")
        .values_list("lead_id", "kind", "w_at", "to_stage", "w_to", "w_team", "w_until")
    )
    if on_postgres:
        return rows
    return ((lead, kind, _sqlite_us(at), *rest) for lead, kind, at, *rest in rows)


def _sqlite_us(value: datetime | str) -> int:
    """A moment as SQLite's driver gives it (UTC, naive, maybe as text) in microseconds
    since the epoch."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return as_us(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def handed_off_in(period: Period):
    handed = LeadEvent.objects.filter(
        kind=Action.HAND_OFF, occurred_at__gte=period.start_at, occurred_at__lt=period.end_at
    )
    if period.team_ids:
        handed = handed.filter(data__team__in=list(period.team_ids))
    return handed


@dataclass
class Months:
    """Marketing's side, per sales team and month: delivered, accepted, rejected."""

    rows: dict[tuple[int, date], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0])
    )

    start: int = 0
    end: int = 0
    # day (since the epoch) -> its month's first day
    months: dict[int, date] = field(default_factory=dict)

    def add(self, events: list[tuple]) -> None:
        first = next((e for e in events if e[0] is HAND_OFF), None)
        if first is None or not first[4] or not (self.start <= first[1] < self.end):
            return
        day = first[1] // DAY
        month = self.months.get(day)
        if month is None:
            month = self.months[day] = as_datetime(day * DAY).date().replace(day=1)
        row = self.rows[(int(first[4]), month)]
        row[0] += 1
        for e in events:
            if e[0] is ACCEPTED:
                row[1] += 1
                return
        for e in events:
            if e[0] is REJECTED:
                row[2] += 1
                return


def _timelines(period: Period) -> tuple[Callable, Callable]:
    """(the calendar spec of a team, its Timeline): one timeline per calendar, looked up
    by team (hashing a spec costs more than a dict)."""
    team_ids = set(Team.objects.filter(side="sales").values_list("pk", flat=True))
    specs_by_team = selectors.calendars_for_teams(team_ids)
    default = selectors.default_spec("UTC")
    first, last = period.start - timedelta(days=30), period.end + _SPAN_AFTER
    by_spec = {spec: Timeline(spec, first, last) for spec in {*specs_by_team.values(), default}}
    timeline_by_team = {team: by_spec[spec] for team, spec in specs_by_team.items()}
    default_timeline = by_spec[default]

    def spec_of(team):
        return specs_by_team.get(team, default)

    def timeline_of(team):
        return timeline_by_team.get(team, default_timeline)

    return spec_of, timeline_of


def _same_terms(agreement: Agreement, goal) -> tuple:
    """What a lead's replay under `goal` of `agreement` reads: two agreements whose goals for
    a lead have the same terms replay it the same (a draft changes one goal or two)."""
    terms = (str(agreement.escalation_hours), agreement.restart_on_reassign)
    return terms + tuple(str(getattr(goal, name)) for name in GOAL_TERMS)


def _goals_by_lead(handed, agreements: list[Agreement]) -> dict[int, tuple]:
    """Each lead's goal under each agreement and, for each, the earlier agreement whose goal
    has the same terms (its replay of the lead is copied) or None. Leads share a handful of
    segments: each is matched once."""
    fields, attributes = _segment_inputs(agreements)
    goals: dict[int, tuple] = {}
    segments: dict[tuple, tuple] = {}
    for pk, *key in _lead_rows(handed, agreements):
        key = tuple(key)
        found = segments.get(key)
        if found is None:
            values = dict(zip((*fields, *attributes), key[1:], strict=True))
            found = segments[key] = _segment_plan(
                agreements,
                score=key[0],
                fields={f: values[f] for f in fields},
                attributes={a: values[a] for a in attributes},
            )
        goals[pk] = found
    return goals


def _segment_plan(agreements, **segment) -> tuple[tuple, bool]:
    """((goal, twin) per agreement, whether any has a twin)."""
    plan, seen = [], {}
    for i, agreement in enumerate(agreements):
        goal = selectors.goal_for(agreement, **segment)
        terms = _same_terms(agreement, goal)
        plan.append((goal, seen.get(terms)))
        seen.setdefault(terms, i)
    return tuple(plan), any(twin is not None for _, twin in plan)


# The kinds as the replay compares them: by identity (`is`), each row's kind is mapped to one
# of these very strings.
_KIND = {str(k): str(k) for k in KINDS} | {
    HAND_OFF: HAND_OFF,
    ACCEPTED: ACCEPTED,
    REJECTED: REJECTED,
    TOUCHED: TOUCHED,
    REASSIGNED: REASSIGNED,
    PAUSED: PAUSED,
}


def _by_lead(rows) -> Iterable[tuple[int, list[tuple]]]:
    """The event rows grouped by lead: (lead, [(kind, us, to_stage, to, team, until)])."""
    kind_of = _KIND
    current, events = None, []
    for lead_id, kind, at, to_stage, to, team, until in rows:
        if lead_id != current:
            if current is not None:
                yield current, events
            current, events = lead_id, []
        if until is not None:
            until = as_us(datetime.fromisoformat(until))
        events.append((kind_of[kind], at, to_stage, to, team, until))
    if current is not None:
        yield current, events


def _play_twinned(players: list[_Replayer], plan: tuple, lead_id: int, events: list) -> None:
    """Replay a lead under each agreement, copying an earlier agreement's replay where its
    goal for the lead has the same terms."""
    marks = []
    for player, (goal, twin) in zip(players, plan, strict=True):
        marks.append(player.out.mark())
        if twin is None:
            player.lead(lead_id, goal, events)
        else:
            player.out.copy(players[twin].out, marks[twin])


def replay(
    *,
    agreements: list[Agreement],
    period: Period,
    progress: Callable[[int, int], None] | None = None,
    keep_breaches: bool = False,
) -> tuple[list[Outcome], Months, int]:
    """Replay each agreement over the leads handed off in `period`: their outcomes, the
    monthly volumes and how many leads there were. One pass over the events, each lead
    replayed under every agreement in turn."""
    handed = handed_off_in(period)
    goals = _goals_by_lead(handed, agreements)
    total = len(goals)
    if not total:
        return [Outcome() for _ in agreements], Months(), 0
    spec_of, timeline_of = _timelines(period)
    players = [_Replayer(a, period, spec_of, timeline_of, keep_breaches) for a in agreements]
    months = Months(start=as_us(period.start_at), end=as_us(period.end_at))
    step = max(1, total // 20)
    for done, (lead_id, events) in enumerate(_by_lead(_event_rows(handed, period)), 1):
        plan, twinned = goals[lead_id]
        if twinned:
            _play_twinned(players, plan, lead_id, events)
        else:
            for player, (goal, _) in zip(players, plan, strict=True):
                player.lead(lead_id, goal, events)
        months.add(events)
        if progress is not None and done % step == 0:
            progress(done, total)

    def zone_of(team):
        return spec_of(team).zone

    return [p.out.fold(zone_of) for p in players], months, total


# -- the figures, side by side, and the difference in words ----------------------------------


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _months_rows(months: Months, agreement: Agreement, period: Period, names) -> list[dict]:
    targets = {c.team_id: c.monthly_mqls for c in agreement.commitments.all()}
    rows = []
    for (team, month), (delivered, accepted, rejected) in sorted(months.rows.items()):
        rate = _pct(accepted, accepted + rejected)
        target = targets.get(team, 0)
        whole = period.start <= month and next_month(month) - timedelta(days=1) <= period.end
        rate_ok = rate is None or rate >= agreement.min_acceptance_rate
        rows.append(
            {
                "team": team,
                "team_name": names.get(team, "No team"),
                "month": month.isoformat(),
                "delivered": delivered,
                "accepted": accepted,
                "rejected": rejected,
                "acceptance_rate": rate,
                "target_mqls": target,
                "target_rate": agreement.min_acceptance_rate,
                "whole_month": whole,
                "met": delivered >= target and rate_ok,
            }
        )
    return rows


def figures(outcome: Outcome, months: Months, agreement: Agreement, period, names, reps) -> dict:
    kinds = dict(ClockKind.choices)
    return {
        "agreement": agreement.pk,
        "number": agreement.number,
        "total": outcome.total.row(),
        "open_at_end": outcome.open_at_end,
        "goals": [
            {"label": label, "kind": kind, "kind_label": kinds[kind], **t.row()}
            for (label, kind), t in outcome.goals.items()
        ],
        "teams": sorted(
            (
                {"team": team, "name": names.get(team, "No team"), **t.row()}
                for team, t in outcome.teams.items()
            ),
            key=lambda r: r["name"],
        ),
        "reps": sorted(
            (
                {"rep": rep, "name": reps.get(rep, "Nobody"), **t.row()}
                for rep, t in outcome.reps.items()
            ),
            key=lambda r: r["name"],
        ),
        "months": _months_rows(months, agreement, period, names),
        "when": {f"{team}|{part}": n for (team, part), n in outcome.when.items()},
    }


def _goal_changes(draft: Agreement, base: Agreement) -> list[str]:
    """ "accept within 2 h instead of 4 h" for each goal both have, by label."""
    old = {g.label: g for g in base.goals.all()}
    words = []
    for g in draft.goals.all():
        was = old.get(g.label)
        if was is None:
            continue
        for name, what in (("accept_hours", "accept"), ("first_touch_hours", "first touch")):
            new, before = getattr(g, name), getattr(was, name)
            if new != before:
                words.append(
                    f"{what} within {selectors.hours_text(new)} instead of "
                    f"{selectors.hours_text(before)} ({g.label})"
                )
        if g.followup_days != was.followup_days:
            words.append(
                f"a touch every {selectors.days_text(g.followup_days)} instead of "
                f"{selectors.days_text(was.followup_days)} ({g.label})"
            )
    return words


def difference(draft_figures: dict, base_figures: dict | None, draft, base) -> list[str]:
    """The difference in plain words, one sentence per sales team (and the total)."""
    if base_figures is None or base is None:
        return ["Nothing is in force to compare with: these are the draft's figures alone."]
    changes = _goal_changes(draft, base)
    lead = "With " + ", ".join(changes) + ", " if changes else ""
    before = {r["team"]: r for r in base_figures["teams"]}
    sentences = []
    for row in draft_figures["teams"]:
        was = before.get(row["team"], {"breached": 0})
        new, old = row["breached"], was["breached"]
        if new == old:
            sentences.append(f"{lead}the same number of breaches in {row['name']} ({new:,}).")
            continue
        if old:
            change = round(100 * abs(new - old) / old)
            more = f"{change}% {'more' if new > old else 'fewer'} breaches"
        else:
            more = f"{count(new, 'breach')} instead of none"
        words = f"{lead}{more} in {row['name']} ({new:,} instead of {old:,})"
        if new > old:
            where = _where(draft_figures["when"], base_figures["when"], row["team"])
            if where:
                words += f", most on {where}s"
        sentences.append(words + ".")
        lead = ""
    sentences.append(_in_all(draft_figures["total"], base_figures["total"]))
    return sentences


def _in_all(draft: dict, base: dict) -> str:
    """ "In all: 12 breaches instead of 9, the same number escalated to the arbiter (3)." """
    new, old = draft["breached"], base["breached"]
    breaches = (
        f"the same number of breaches ({new:,})"
        if new == old
        else f"{count(new, 'breach')} instead of {old:,}"
    )
    new, old = draft["escalated"], base["escalated"]
    escalated = (
        f"the same number escalated to the arbiter ({new:,})"
        if new == old
        else f"{new:,} escalated to the arbiter instead of {old:,}"
    )
    return f"In all: {breaches}, {escalated}."


def _where(draft_when: dict, base_when: dict, team) -> str:
    extra = Counter()
    for key, n in draft_when.items():
        owner, part = key.split("|", 1)
        if owner == str(team):
            extra[part] = n - base_when.get(key, 0)
    best = [(n, part) for part, n in extra.items() if n > 0]
    return max(best)[1] if best else ""


def whatif(
    *,
    draft: Agreement,
    base: Agreement | None,
    period: Period,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """The draft and the agreement in force replayed over the same leads, side by side."""
    agreements = [draft] if base is None or base.pk == draft.pk else [draft, base]
    outcomes, months, leads = replay(agreements=agreements, period=period, progress=progress)
    result = {"period": period.as_dict(), "leads": leads}
    if not leads:
        result["empty"] = (
            f"No lead was handed off from {period.start:%d %b %Y} to {period.end:%d %b %Y}"
            + (" in the chosen teams" if period.team_ids else "")
            + ": there is nothing to replay. Choose a longer or earlier period."
        )
        return result
    names = dict(Team.objects.values_list("pk", "name"))
    rep_ids = {r for o in outcomes for r in o.reps}
    reps = {u.pk: str(u) for u in User.objects.filter(pk__in=rep_ids)}
    shown = [
        figures(o, months, a, period, names, reps)
        for o, a in zip(outcomes, agreements, strict=True)
    ]
    result["draft"] = shown[0]
    result["in_force"] = shown[1] if len(shown) > 1 else None
    result["difference"] = difference(shown[0], result["in_force"], draft, base)
    return result


# -- kept and shared: one row per draft, period and teams, one run ----------------------------


GOAL_TERMS = (
    "label",
    "min_score",
    "match_field",
    "match_values",
    "accept_hours",
    "first_touch_hours",
    "min_attempts",
    "attempt_days",
    "followup_days",
    "followup_through",
    "warn_percent",
)
AGREEMENT_TERMS = ("min_acceptance_rate", "escalation_hours", "restart_on_reassign")


def _terms(agreement: Agreement | None) -> list | None:
    """What of an agreement its replay reads: a draft proposed or signed unchanged keeps
    its figures; an edited one is replayed again."""
    if agreement is None:
        return None
    return [
        agreement.pk,
        [str(getattr(agreement, name)) for name in AGREEMENT_TERMS],
        [[str(getattr(g, name)) for name in GOAL_TERMS] for g in agreement.goals.all()],
        sorted((c.team_id, c.monthly_mqls) for c in agreement.commitments.all()),
    ]


def replay_key(draft: Agreement, base: Agreement | None, period: Period) -> str:
    """Everything a replay's figures depend on but the lead events themselves: both
    agreements' terms, the period and teams, the calendars' revisions."""
    calendars = sorted(BusinessCalendar.objects.values_list("pk", "revision"))
    parts = [_terms(draft), _terms(base), period.as_dict(), calendars]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def whatif_request(*, agreement: Agreement, period: Period, by, now: datetime) -> AgreementReplay:
    """The what-if of `agreement` over `period`: the one kept, or a new one queued for a
    worker (progress in the row). Asked twice at once, it runs once: the second finds
    the first's row (unique key). A failed one is asked again."""
    agreement = with_terms().get(pk=agreement.pk)
    key = replay_key(agreement, in_force_version(), period)
    try:
        with transaction.atomic():
            row, created = AgreementReplay.objects.get_or_create(
                agreement=agreement,
                key=key,
                defaults={
                    "period_start": period.start,
                    "period_end": period.end,
                    "teams": list(period.team_ids),
                    "requested_by": by,
                    "requested_at": now,
                },
            )
    except IntegrityError:  # the other request inserted it between our look and our insert
        row, created = AgreementReplay.objects.get(agreement=agreement, key=key), False
    if not created and row.state == ReplayState.FAILED:
        created = bool(
            AgreementReplay.objects.filter(pk=row.pk, state=ReplayState.FAILED).update(
                state=ReplayState.RUNNING, progress=0, error="", requested_at=now
            )
        )
        row.refresh_from_db()
    if created:
        # What the draft would have meant before it changed, over the same period: gone.
        AgreementReplay.objects.filter(
            agreement=agreement,
            period_start=period.start,
            period_end=period.end,
            teams=list(period.team_ids),
        ).exclude(pk=row.pk).delete()
        replay_id = row.pk
        transaction.on_commit(lambda: _send(replay_id))
    return row


def _send(replay_id: int) -> None:
    from kombu.exceptions import KombuError

    from sla.tasks import whatif_run as task

    try:
        task.delay(replay_id)
    except (KombuError, OSError):
        log.warning("could not reach the broker for what-if %s; running it here", replay_id)
        whatif_run(replay_id=replay_id)


def whatif_run(*, replay_id: int) -> str:
    """Compute a queued what-if (the task). Runs once: a done row is left as it is."""
    row = AgreementReplay.objects.filter(pk=replay_id, state=ReplayState.RUNNING).first()
    if row is None:
        return "nothing to do"
    draft = Agreement.objects.prefetch_related("goals", "commitments").get(pk=row.agreement_id)
    base = selectors.agreement_in_force()
    period = Period(row.period_start, row.period_end, tuple(row.teams), now=row.requested_at)

    def progress(done: int, total: int) -> None:
        AgreementReplay.objects.filter(pk=replay_id).update(progress=min(99, 100 * done // total))

    try:
        result = whatif(draft=draft, base=base, period=period, progress=progress)
    except Exception as error:  # noqa: BLE001 - kept on the row, said on the page
        log.exception("what-if %s failed", replay_id)
        AgreementReplay.objects.filter(pk=replay_id).update(
            state=ReplayState.FAILED, error=str(error)[:500], finished_at=clock.now()
        )
        return "failed"
    AgreementReplay.objects.filter(pk=replay_id, state=ReplayState.RUNNING).update(
        state=ReplayState.DONE, progress=100, result=result, finished_at=clock.now()
    )
    return "done"


def with_terms():
    return Agreement.objects.prefetch_related("goals", "commitments")


def rep_hours_caveat(*versions: Agreement | None) -> str:
    """What the replay cannot show yet: versions whose reps' clocks run on the reps' own
    working hours are replayed on the teams' calendars ("" when none is)."""
    named = [str(v) for v in versions if v is not None and v.clock_calendar == ClockCalendar.REP]
    if not named:
        return ""
    return (
        f"{' and '.join(dict.fromkeys(named))} run reps' clocks on each rep's own working "
        "hours, which this replay does not do yet: it places every clock on its team's "
        "calendar, so for reps whose hours differ from it the deadlines, breaches and "
        "escalations shown are not the ones that agreement would have given."
    )


def in_force_version() -> Agreement | None:
    """The agreement in force with what a replay's key reads (three queries)."""
    return with_terms().filter(status=AgreementStatus.AGREED).first()


def kept(*, agreement: Agreement, period: Period, base: Agreement | None) -> AgreementReplay | None:
    """The what-if kept for these inputs, if any (a read: nothing is started)."""
    key = replay_key(agreement, base, period)
    return AgreementReplay.objects.filter(agreement=agreement, key=key).first()


def _pairs(draft_rows: list[dict], base_rows: list[dict] | None, key) -> list[dict]:
    base = {key(r): r for r in base_rows or []}
    seen, rows = set(), []
    for r in draft_rows:
        seen.add(key(r))
        rows.append({"draft": r, "base": base.get(key(r)), **r})
    rows.extend({"draft": None, "base": r, **r} for k, r in base.items() if k not in seen)
    return rows


def side_by_side(result: dict) -> dict:
    """The draft's figures next to the agreement in force's, row by row, for a page."""
    draft, base = result["draft"], result.get("in_force")
    pick = (lambda name: base[name]) if base else (lambda name: None)
    return {
        "total": {"draft": draft["total"], "base": base["total"] if base else None},
        "goals": _pairs(draft["goals"], pick("goals"), lambda r: (r["label"], r["kind"])),
        "teams": _pairs(draft["teams"], pick("teams"), lambda r: r["team"]),
        "reps": _pairs(draft["reps"], pick("reps"), lambda r: r["rep"]),
        "months": _pairs(draft["months"], pick("months"), lambda r: (r["team"], r["month"])),
    }
