"""What an agreement would have meant: a draft replayed over real history.

`replay` reads the period's lead events in one ordered query (and the leads'
segment fields in another), then walks each lead's events the way the live
clock engine (sla.clocks.on_lead_events) reacts to them: a hand-off starts the
accept clock, an accept meets it and starts the first-touch clock, a touch
meets that and starts the follow-up, a close cancels, an agreed pause holds.
Every deadline comes from `sla.deadlines.clock_plan`, the function the live
engine starts its clocks with, placed on one `Timeline` per calendar (exactly
`add_business_time`, faster); the scan's rules decide what counts as a breach
(a running clock whose deadline passed: at its deadline) and an escalation (a
breach still unresolved `escalation_hours` of business time later).

Not replayed: "rep away" pauses (who was away when is not in the lead events),
and a score that changed after the lead's clocks started (the current score
picks the goal). Marketing's commitment is judged on the volume and the
acceptance rate.
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
from django.db import IntegrityError, transaction
from django.db.models.fields.json import KeyTextTransform

from alignment import clock
from alignment.inputs import query_date
from alignment.models import Team, User
from leads.models import Lead, LeadEvent
from leads.stages import Action
from sla import selectors
from sla.calendars import business_time_between
from sla.clocks import CONTACT_FIELDS, TOUCH_KINDS
from sla.commitment import next_month
from sla.deadlines import (
    _EPOCH,
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
ACCEPT_ONLY = (ACCEPT,)
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


class _Clock:
    """A replayed clock; times in microseconds since the epoch (sla.deadlines.as_us)."""

    __slots__ = ("counted", "due", "goal", "hours", "kind", "owner", "paused", "remaining", "team")

    def __init__(self, kind, goal, team, owner, due, hours, counted):
        self.kind, self.goal, self.team, self.owner = kind, goal, team, owner
        self.due, self.hours, self.counted = due, hours, counted
        self.paused, self.remaining = False, None


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
    # (goal label, kind, team, owner, "met" | "breached" | "escalated") -> clocks, while
    # replaying (one count per clock); `fold` makes the tallies of it.
    counts: Counter = field(default_factory=Counter)

    def fold(self) -> Outcome:
        for (label, kind, team, owner, how), n in self.counts.items():
            for t in (self.goals[(label, kind)], self.teams[team], self.reps[owner], self.total):
                if how == "met":
                    t.met += n
                else:
                    t.breached += n
                    t.escalated += n if how == "escalated" else 0
        self.counts.clear()
        return self


def _part_of_day(moment: datetime) -> str:
    part = "morning" if moment.hour < 12 else "afternoon" if moment.hour < 17 else "evening"
    return f"{WEEKDAYS[moment.weekday()]} {part}"


class _Replayer:
    """One agreement's clocks for one lead after another (the live engine's reactions)."""

    def __init__(self, agreement: Agreement, period: Period, specs, timelines, keep: bool):
        self.agreement = agreement
        self.restart_on_reassign = agreement.restart_on_reassign
        self.escalation = hours(agreement.escalation_hours) // _MICRO
        self.start, self.end = as_us(period.start_at), as_us(period.end_at)
        self.specs = specs
        self.timelines = timelines
        self.spans: dict[tuple, tuple | None] = {}
        self.out = Outcome(breaches=[] if keep else None)

    def _plan(self, goal, kind, team, owner, at: int, stage, touches) -> _Clock | None:
        """The clock `clock_spans` gives, placed on the team's timeline."""
        key = (id(goal), kind, team, stage, min(touches, goal.min_attempts))
        found = self.spans.get(key, False)
        if found is False:
            found = clock_spans(self.specs(team), goal, kind, stage=stage, touches=touches)
            if found is not None:
                found = (found[0], found[2] // _MICRO)
            self.spans[key] = found
        if found is None:
            return None
        due = self.timelines(team).add_us(at, found[1])
        return _Clock(kind, goal, team, owner, due, found[0], self.start <= at < self.end)

    def _finish(self, lead_id: int, c: _Clock, resolved: int | None, met: bool = True) -> None:
        """Tally a clock met (or cancelled: `met` False) at `resolved`; None: still open at
        the period's end. Late is a deadline passed before it stopped (sla.clocks._close)
        or by the period's end (the scan)."""
        if not c.counted:
            return
        if c.paused:
            late = False
        elif resolved is None:
            late = c.due <= self.end
        else:
            late = c.due < resolved
        out = self.out
        if not late:
            if resolved is None:
                out.open_at_end += 1
            elif met:
                out.counts[(c.goal.label, c.kind, c.team, c.owner, "met")] += 1
            return
        due = as_datetime(c.due)
        out.when[(c.team, _part_of_day(due.astimezone(self.specs(c.team).zone)))] += 1
        if out.breaches is not None:
            out.breaches.append((lead_id, c.kind, due))
        escalates_at = self.timelines(c.team).add_us(c.due, self.escalation)
        if (resolved is None and escalates_at <= self.end) or (
            resolved is not None and escalates_at < resolved
        ):
            how = "escalated"
        else:
            how = "breached"
        out.counts[(c.goal.label, c.kind, c.team, c.owner, how)] += 1

    def _hold(self, c: _Clock, at: int) -> None:
        spec = self.specs(c.team)
        left = business_time_between(spec, as_datetime(at), as_datetime(c.due))
        c.paused, c.remaining = True, max(left, timedelta(0))

    def _release(self, c: _Clock, at: int) -> None:
        spec, warn = self.specs(c.team), c.goal.warn_percent
        _, due = resumed_deadlines(spec, as_datetime(at), c.remaining, c.hours, warn)
        c.due, c.paused, c.remaining = as_us(due), False, None

    def lead(self, lead_id: int, goal, events: list[tuple]) -> None:
        clocks: list[_Clock] = []
        stage, touches, owner, team = "", 0, None, None
        pause_until: int | None = None
        finish, plan = self._finish, self._plan

        def stop(kinds, at, met=True) -> None:
            if clocks:
                for c in [c for c in clocks if c.kind in kinds]:
                    finish(lead_id, c, at, met)
                    clocks.remove(c)

        def resume(at: int) -> None:
            nonlocal pause_until
            pause_until = None
            for c in clocks:
                if c.paused:
                    self._release(c, at)

        for kind, at, to_stage, to, to_team, until in events:
            if pause_until is not None and pause_until <= at:
                resume(pause_until)
            if to_stage:
                stage = to_stage
            if kind == HAND_OFF:
                owner = int(to) if to else owner
                team = int(to_team) if to_team else team
                stop(ACCEPT_ONLY, at, False)
                if owner:
                    clocks.append(plan(goal, ACCEPT, team, owner, at, stage, touches))
            elif kind == ACCEPTED:
                stop(ACCEPT_ONLY, at)
                clocks.append(plan(goal, FIRST_TOUCH, team, owner, at, stage, touches))
            elif kind == REJECTED:
                stop(ACCEPT_ONLY, at)
            elif kind == TOUCHED:
                touches += 1
                stop(TOUCH_KINDS, at)
                if pause_until is not None:
                    resume(at)
                c = plan(goal, FOLLOW_UP, team, owner, at, stage, touches)
                if c is not None:
                    clocks.append(c)
            elif kind in QUALIFIES:
                for c in [
                    c for c in clocks if c.kind == FOLLOW_UP and not followup_applies(c.goal, stage)
                ]:
                    finish(lead_id, c, at, False)
                    clocks.remove(c)
                if pause_until is not None and not any(c.paused for c in clocks):
                    pause_until = None
            elif kind in CANCELS_ALL:
                stop(ALL_KINDS, at, False)
                pause_until = None
            elif kind == REASSIGNED:
                owner = int(to) if to else owner
                restart = [
                    c for c in clocks if self.restart_on_reassign or (not c.paused and c.due <= at)
                ]
                for c in restart:
                    finish(lead_id, c, at, False)
                    clocks.remove(c)
                    again = plan(goal, c.kind, team, owner, at, stage, touches)
                    if again is not None:
                        clocks.append(again)
                for c in clocks:
                    c.owner = owner
                if restart:
                    pause_until = None
            elif kind == PAUSED and until is not None:
                for c in clocks:
                    if not c.paused:
                        self._hold(c, at)
                pause_until = until
        if pause_until is not None and pause_until <= self.end:
            resume(pause_until)
        for c in clocks:
            finish(lead_id, c, None)


def _segment_inputs(agreements: list[Agreement]) -> tuple[list[str], list[str]]:
    """The lead fields and attributes the agreements' segments read."""
    names = {g.match_field for a in agreements for g in a.goals.all() if g.match_field}
    fields = sorted(n for n in names if n in (*CONTACT_FIELDS, "source"))
    return fields, sorted(names - set(fields))


def _lead_rows(handed, agreements: list[Agreement]):
    fields, attributes = _segment_inputs(agreements)
    aliases = {f"a{i}": KeyTextTransform(name, "attributes") for i, name in enumerate(attributes)}
    rows = (
        Lead.objects.filter(pk__in=handed.values("lead_id"))
        .annotate(**aliases)
        .values_list("pk", "score", *fields, *aliases)
    )
    for pk, score, *values in rows.iterator(chunk_size=5000):
        yield (
            pk,
            score,
            dict(zip(fields, values[: len(fields)], strict=True)),
            dict(zip(attributes, values[len(fields) :], strict=True)),
        )


def _event_rows(handed, period: Period):
    return (
        LeadEvent.objects.filter(
            lead_id__in=handed.values("lead_id"), kind__in=KINDS, occurred_at__lt=period.end_at
        )
        .annotate(
            w_to=KeyTextTransform("to", "data"),
            w_team=KeyTextTransform("team", "data"),
            w_until=KeyTextTransform("until", "data"),
        )
        .order_by("lead_id", "occurred_at", "id")
        .values_list("lead_id", "kind", "occurred_at", "to_stage", "w_to", "w_team", "w_until")
        .iterator(chunk_size=10000)
    )


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

    def add(self, events: list[tuple]) -> None:
        first = next((e for e in events if e[0] == HAND_OFF), None)
        if first is None or not first[4] or not (self.start <= first[1] < self.end):
            return
        row = self.rows[(int(first[4]), as_datetime(first[1]).date().replace(day=1))]
        row[0] += 1
        kinds = {e[0] for e in events}
        if ACCEPTED in kinds:
            row[1] += 1
        elif REJECTED in kinds:
            row[2] += 1


def replay(
    *,
    agreements: list[Agreement],
    period: Period,
    progress: Callable[[int, int], None] | None = None,
    keep_breaches: bool = False,
) -> tuple[list[Outcome], Months, int]:
    """Replay each agreement over the leads handed off in `period`: their outcomes, the
    monthly volumes and how many leads there were. One pass over the events."""
    handed = handed_off_in(period)
    total = handed.values("lead_id").distinct().count()
    if not total:
        return [Outcome() for _ in agreements], Months(), 0
    team_ids = set(Team.objects.filter(side="sales").values_list("pk", flat=True))
    specs_by_team = selectors.calendars_for_teams(team_ids)
    default = selectors.default_spec("UTC")
    first, last = period.start - timedelta(days=30), period.end + _SPAN_AFTER

    # One timeline per calendar, looked up by team (hashing a spec costs more than a dict).
    by_spec = {spec: Timeline(spec, first, last) for spec in {*specs_by_team.values(), default}}
    timeline_by_team = {team: by_spec[spec] for team, spec in specs_by_team.items()}
    default_timeline = by_spec[default]

    def spec_of(team):
        return specs_by_team.get(team, default)

    def timeline_of(team):
        return timeline_by_team.get(team, default_timeline)

    players = [_Replayer(a, period, spec_of, timeline_of, keep_breaches) for a in agreements]
    goals: dict[int, list] = {}
    # Leads share a handful of segments: each is matched once.
    segments: dict[tuple, list] = {}
    for pk, score, fields, attributes in _lead_rows(handed, agreements):
        key = (score, *fields.values(), *attributes.values())
        found = segments.get(key)
        if found is None:
            found = segments[key] = [
                selectors.goal_for(a, score=score, fields=fields, attributes=attributes)
                for a in agreements
            ]
        goals[pk] = found
    months = Months(start=as_us(period.start_at), end=as_us(period.end_at))
    done = 0

    def play(lead_id, events):
        nonlocal done
        for player, goal in zip(players, goals[lead_id], strict=True):
            player.lead(lead_id, goal, events)
        months.add(events)
        done += 1
        if progress is not None and done % 2000 == 0:
            progress(done, total)

    current, events = None, []
    for lead_id, kind, at, to_stage, to, team, until in _event_rows(handed, period):
        if lead_id != current:
            if current is not None:
                play(current, events)
            current, events = lead_id, []
        if until is not None:
            until = as_us(datetime.fromisoformat(until))
        events.append((kind, (at - _EPOCH) // _MICRO, to_stage, to, team, until))
    if current is not None:
        play(current, events)
    return [p.out.fold() for p in players], months, total


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
            sentences.append(f"{lead}the same number of breaches in {row['name']} ({new}).")
            continue
        if old:
            change = round(100 * abs(new - old) / old)
            more = f"{change}% {'more' if new > old else 'fewer'} breaches"
        else:
            more = f"{new} breaches instead of none"
        words = f"{lead}{more} in {row['name']} ({new} instead of {old})"
        if new > old:
            where = _where(draft_figures["when"], base_figures["when"], row["team"])
            if where:
                words += f", most on {where}s"
        sentences.append(words + ".")
        lead = ""
    d, b = draft_figures["total"], base_figures["total"]
    sentences.append(
        f"In all: {d['breached']} breaches instead of {b['breached']}, "
        f"{d['escalated']} escalated to the arbiter instead of {b['escalated']}."
    )
    return sentences


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
