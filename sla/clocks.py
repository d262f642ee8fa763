"""Clocks start, stop and pause from lead events.

`on_lead_events` is registered with the leads state machine (SlaConfig.ready)
and runs inside the transaction that changed the lead, so a clock never
disagrees with its lead. Deadlines are computed once, here, on the calendar of
the owner's team (or, when the agreement says so, a rep's clock on the owner's own
working hours: sla.selectors.calendar_for_clock), and stored on the clock
(`warn_at`, `due_at`) and on the lead (what the inbox counts down to); the scan
only compares them with now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Q

from alignment import clock as time
from alignment.bulk import insert_rows, new_instance
from alignment.models import User
from leads.machine import SALES_WORKING, Action, GuardRefused, Stage
from leads.models import Lead, LeadEvent
from leads.services import leads_set_attempts, leads_set_deadlines, leads_set_pause
from sla import rollups, selectors
from sla.calendars import CalendarSpec, business_time_between
from sla.deadlines import (  # noqa: F401 - deadlines and hours: the engine's arithmetic, here too
    ClockPlan,
    clock_plan,
    deadlines,
    followup_applies,
    hours,
    resumed_deadlines,
)
from sla.models import (
    DECISION_AGAINST,
    Agreement,
    ArbiterCase,
    CaseKind,
    Clock,
    ClockCalendar,
    ClockEvent,
    ClockEventKind,
    ClockKind,
    ClockState,
    Decision,
    Pause,
    PauseEnd,
    SalesGoal,
)

OPEN = (ClockState.RUNNING, ClockState.PAUSED)
CONTACT_FIELDS = ("email", "first_name", "last_name", "company", "title", "country", "phone")
# The clocks a rep's touches answer: the first one, then each next one.
TOUCH_KINDS = (ClockKind.FIRST_TOUCH, ClockKind.FOLLOW_UP)


def _goal(agreement: Agreement, lead: Lead) -> SalesGoal:
    fields = {name: getattr(lead, name, "") for name in (*CONTACT_FIELDS, "source")}
    return selectors.goal_for(
        agreement, score=lead.score, fields=fields, attributes=lead.attributes or {}
    )


def _new_clock(
    *,
    lead: Lead,
    kind: str,
    agreement: Agreement,
    goal: SalesGoal,
    spec: CalendarSpec,
    start: datetime,
) -> Clock | None:
    """The clock the goal gives this lead now, or None (no follow-up due in its stage)."""
    if kind == ClockKind.ASSIGNMENT:
        # The team manager's promise (the agreement's, not a segment's): the goal's
        # warning share, on the team's calendar.
        warn_at, due_at = deadlines(spec, start, agreement.assign_hours, goal.warn_percent)
        plan = ClockPlan(kind, agreement.assign_hours, warn_at, due_at)
    else:
        plan = clock_plan(spec, goal, kind, start, stage=lead.stage, touches=lead.touch_count)
    if plan is None:
        return None
    # Not Clock(...): a bulk ingest starts hundreds at once (alignment.bulk.new_instance).
    return new_instance(
        Clock,
        {
            "lead_id": lead.pk,
            "kind": kind,
            "state": ClockState.RUNNING,
            "owner_id": lead.owner_id,
            "team_id": lead.team_id,
            "hours": plan.hours,
            "started_at": start,
            "warn_at": plan.warn_at,
            "due_at": plan.due_at,
        },
        {"agreement": agreement, "goal": goal},
    )


def _event(clock: Clock, kind: str, at: datetime, *, actor=None, **data) -> ClockEvent:
    return ClockEvent(
        clock=clock,
        lead_id=clock.lead_id,
        kind=kind,
        occurred_at=at,
        recorded_at=time.now(),
        actor=actor,
        data=data,
    )


def start_clocks(
    starts: list[tuple[Lead, str, datetime]], agreement: Agreement | None = None
) -> list[Clock]:
    """Start one clock per (lead, kind, start); in bulk for a thousand hand-offs."""
    agreement = agreement or selectors.agreement_in_force()
    if agreement is None or not starts:
        return []
    specs = selectors.calendars_for_teams({lead.team_id for lead, _, _ in starts if lead.team_id})
    default = selectors.default_spec("UTC")
    reps = {}
    if agreement.clock_calendar == ClockCalendar.REP:
        reps = selectors.rep_hours(lead.owner_id for lead, _, _ in starts)
    made = [
        (
            lead,
            _new_clock(
                lead=lead,
                kind=kind,
                agreement=agreement,
                goal=_goal(agreement, lead),
                spec=selectors.calendar_for_clock(
                    clock_calendar=agreement.clock_calendar,
                    kind=kind,
                    team_spec=specs.get(lead.team_id, default),
                    owner=reps.get(lead.owner_id),
                ),
                start=start,
            ),
        )
        for lead, kind, start in starts
    ]
    clocks = [c for _, c in made if c is not None]
    _insert_clocks(clocks)
    # What the lead shows while a rep works it: "attempt 2 of 3".
    attempts = [
        (lead.pk, c.goal.min_attempts)
        for lead, c in made
        if c is not None and c.kind in TOUCH_KINDS and lead.attempts_agreed != c.goal.min_attempts
    ]
    if attempts:
        leads_set_attempts(rows=attempts)
        for lead, c in made:
            if c is not None and c.kind in TOUCH_KINDS:
                lead.attempts_agreed = c.goal.min_attempts
    now = time.now()
    started = [
        (c.pk, c.lead_id, ClockEventKind.STARTED, c.started_at, now, None, _started_data(c))
        for c in clocks
    ]
    insert_rows(ClockEvent, EVENT_COLUMNS, started)
    return clocks


# What a new clock's row and its "started" event hold (alignment.bulk.insert_rows: every
# NOT NULL column; the model's Python defaults are not applied there).
CLOCK_COLUMNS = (
    "lead_id",
    "kind",
    "state",
    "agreement_id",
    "goal_id",
    "owner_id",
    "team_id",
    "hours",
    "started_at",
    "warn_at",
    "due_at",
    "extended",
)
EVENT_COLUMNS = ("clock_id", "lead_id", "kind", "occurred_at", "recorded_at", "actor_id", "data")


def _started_data(c: Clock) -> dict:
    return {"goal": c.goal.label, "due_at": c.due_at.isoformat()}


def _insert_clocks(clocks: list[Clock]) -> None:
    """A thousand hand-offs' clocks in one statement, without preparing each instance
    field by field (bulk_create's cost at that size); each gets its id."""
    if connection.vendor != "postgresql":
        Clock.objects.bulk_create(clocks)
        return
    rows = [tuple(getattr(c, column) for column in CLOCK_COLUMNS) for c in clocks]
    ids = insert_rows(Clock, CLOCK_COLUMNS, rows, returning=("id",))
    for c, (pk,) in zip(clocks, ids, strict=True):
        c.pk = pk
        c._state.adding = False


def _close(
    clock: Clock, *, state: str, at: datetime, actor=None, because: str = ""
) -> list[ClockEvent]:
    """Stop an open clock: met (on time or late) or cancelled. A breached clock is
    resolved, and its arbiter case, if it was escalated, closes (`because`: what
    was done, an Action).

    A running clock stopped after its deadline is a breach the scan had not
    noticed yet (it runs every few seconds, or was down): the breach is
    recorded at its true time all the same, already resolved.
    """
    if clock.state == ClockState.RUNNING and at > clock.due_at:
        Clock.objects.filter(pk=clock.pk, state=ClockState.RUNNING).update(
            state=ClockState.BREACHED, breached_at=clock.due_at, resolved_at=at
        )
        kind = ClockEventKind.MET_LATE if state == ClockState.MET else ClockEventKind.CANCELLED
        return [
            _event(clock, ClockEventKind.BREACHED, clock.due_at, noticed_when_stopped=True),
            _event(clock, kind, at, actor=actor, resolved=True),
        ]
    if clock.state == ClockState.BREACHED:
        Clock.objects.filter(pk=clock.pk, resolved_at__isnull=True).update(resolved_at=at)
        if clock.escalated_at is not None:
            _close_worked_case(clock, at=at, actor=actor, because=because)
        kind = ClockEventKind.MET_LATE if state == ClockState.MET else ClockEventKind.CANCELLED
        return [_event(clock, kind, at, actor=actor, resolved=True)]
    updates = {"state": state}
    updates["met_at" if state == ClockState.MET else "cancelled_at"] = at
    Clock.objects.filter(pk=clock.pk, state__in=OPEN).update(**updates)
    kind = ClockEventKind.MET if state == ClockState.MET else ClockEventKind.CANCELLED
    return [_event(clock, kind, at, actor=actor)]


def _close_worked_case(clock: Clock, *, at: datetime, actor, because: str) -> None:
    """An escalated breach that the lead's own people then acted on leaves the
    arbiter nothing to decide: the case closes, saying who did what and when.
    The breach stays on the clock's record (and in the figures).

    Runs in the transaction of the lead's change, which holds the lead's lock:
    the arbiter takes the lead before the case too (sla.arbiter.case_decide),
    so the two never deadlock and exactly one of them closes the case."""
    what = Action(because).label if because in Action.values else "Acted on"
    case = (
        ArbiterCase.objects.filter(clock_id=clock.pk, decided_at__isnull=True)
        .values("pk", "opened_at", "team_id", "kind")
        .first()
    )
    if case is None:
        return
    claimed = ArbiterCase.objects.filter(pk=case["pk"], decided_at__isnull=True).update(
        decided_at=at,
        decision=Decision.WORKED,
        against_side=DECISION_AGAINST[Decision.WORKED],
        reason=f"{what} by {actor or 'the system'} on {at:%d %b %Y %H:%M} UTC, "
        "after the breach was escalated: nothing was left to decide.",
    )
    if claimed:
        rollups.record_case_decided(
            opened_at=case["opened_at"],
            team_id=case["team_id"],
            kind=case["kind"],
            decided_at=at,
            decision=Decision.WORKED,
            against_side=DECISION_AGAINST[Decision.WORKED],
        )


# What each lead event does to the lead's open clocks.
STOPPED_BY = {
    Action.TOUCH: TOUCH_KINDS,
    Action.CLOSE: tuple(ClockKind.values),
    Action.RETURN: tuple(ClockKind.values),
    Action.RECYCLE: tuple(ClockKind.values),
    Action.DISQUALIFY: tuple(ClockKind.values),
    # A duplicate merged into another lead: the lead kept is the one worked.
    Action.MERGE: tuple(ClockKind.values),
}
NEEDS_AGREEMENT = (Action.QUEUE, Action.HAND_OFF, Action.ACCEPT, Action.REASSIGN, Action.TOUCH)
NEEDS_OPEN_CLOCKS = (
    Action.ACCEPT,
    Action.REJECT,
    Action.TOUCH,
    Action.CLOSE,
    Action.RETURN,
    Action.RECYCLE,
    Action.DISQUALIFY,
    Action.REASSIGN,
    Action.HAND_OFF,
    Action.QUEUE,
    Action.QUALIFY,
    Action.CONVERT,
    Action.PAUSE,
    Action.MERGE,
)


def on_lead_events(events: list[LeadEvent]) -> None:
    """The listener: what each lead event does to the lead's clocks."""
    relevant = [
        e
        for e in events
        if e.kind not in (Action.INGEST, Action.UPDATE, Action.IMPORT_HISTORY, Action.RESCORE)
    ]
    if not relevant:
        return
    agreement = None
    if any(e.kind in NEEDS_AGREEMENT for e in relevant):
        agreement = selectors.agreement_in_force()
    lead_ids = {e.lead_id for e in relevant}
    open_clocks: dict[int, list[Clock]] = defaultdict(list)
    if any(e.kind in NEEDS_OPEN_CLOCKS for e in relevant):
        # Breached-but-unresolved clocks count as open here: acting resolves them.
        for c in (
            Clock.objects.select_for_update(of=("self",))
            .filter(
                Q(state__in=OPEN) | Q(state=ClockState.BREACHED, resolved_at__isnull=True),
                lead_id__in=lead_ids,
            )
            .select_related("agreement", "goal")
        ):
            open_clocks[c.lead_id].append(c)
    effects = _Effects(agreement, open_clocks, _open_pauses([e.lead for e in relevant]))
    for event in relevant:
        effects.apply(event)
    starts, clock_events = effects.starts, effects.clock_events
    started = start_clocks(starts, agreement) if starts else []
    ClockEvent.objects.bulk_create(clock_events)
    rollups.record_met(clock_events, leads={e.lead_id: e.lead for e in relevant})
    rollups.record_breach_events(clock_events)
    if started and not open_clocks:
        # Fresh hand-offs (the bulk ingest path): the new clocks are the whole story.
        leads_set_deadlines(rows=[(c.lead_id, c.due_at, c.warn_at, None) for c in started])
    else:
        sync_leads(lead_ids)


class _Effects:
    """What a run of lead events does to their leads' clocks: the clocks to start
    and the clock events to write, gathered for one bulk write by the listener."""

    def __init__(self, agreement, open_clocks: dict[int, list[Clock]], pauses: dict) -> None:
        self.agreement = agreement
        self.open_clocks = open_clocks
        self.pauses = pauses
        self.starts: list[tuple[Lead, str, datetime]] = []
        self.clock_events: list[ClockEvent] = []

    def apply(self, event: LeadEvent) -> None:
        self.event, self.lead = event, event.lead
        self.mine = self.open_clocks.get(event.lead.pk, [])
        kind = event.kind
        if kind == Action.QUEUE:
            # Nobody can take it yet: its team's manager owes it a rep (one clock while
            # it waits, however often it is queued again).
            if not self._has(ClockKind.ASSIGNMENT):
                self._start(ClockKind.ASSIGNMENT)
        elif kind == Action.HAND_OFF:
            self._stop([ClockKind.ASSIGNMENT], ClockState.MET)
            self._stop([ClockKind.ACCEPT], ClockState.CANCELLED)
            if self.lead.owner_id:
                self._start(ClockKind.ACCEPT)
        elif kind == Action.ACCEPT:
            self._stop([ClockKind.ACCEPT], ClockState.MET)
            self._start(ClockKind.FIRST_TOUCH)
        elif kind == Action.REJECT:
            self._stop([ClockKind.ACCEPT], ClockState.MET)
        elif kind == Action.TOUCH:
            # A touch meets the clock it answers and starts the next: the next attempt,
            # or the agreed cadence. It ends an agreed pause.
            self._stop(STOPPED_BY[kind], ClockState.MET)
            self._end_pause(PauseEnd.TOUCH)
            self._start(ClockKind.FOLLOW_UP)
        elif kind in (Action.QUALIFY, Action.CONVERT):
            self._stage_moved()
        elif kind in STOPPED_BY:
            self._stop(STOPPED_BY[kind], ClockState.CANCELLED)
            self._end_pause(PauseEnd.CLOSED)
        elif kind == Action.REASSIGN:
            self._reassigned()
        elif kind == Action.PAUSE:
            self.clock_events.extend(_pause(self.lead, self.mine, event))
        elif kind == Action.DISPUTE and event.data.get("dispute"):
            case, created = ArbiterCase.objects.get_or_create(
                dispute_id=event.data["dispute"],
                defaults={
                    "kind": CaseKind.DISPUTE,
                    "lead_id": self.lead.pk,
                    "team_id": self.lead.team_id,
                    "opened_at": event.occurred_at,
                },
            )
            if created:
                rollups.record_cases_opened([(case.opened_at, case.team_id, case.kind)])

    def _has(self, kind: str) -> bool:
        return any(c.kind == kind for c in self.mine)

    def _start(self, kind: str) -> None:
        if self.agreement:
            self.starts.append((self.lead, kind, self.event.occurred_at))

    def _close(self, clocks: list[Clock], state: str) -> None:
        event = self.event
        for c in clocks:
            self.clock_events.extend(
                _close(c, state=state, at=event.occurred_at, actor=event.actor, because=event.kind)
            )
            self.mine.remove(c)

    def _stop(self, kinds: Iterable[str], state: str) -> None:
        self._close([c for c in self.mine if c.kind in kinds], state)

    def _end_pause(self, reason: str) -> None:
        pause = self.pauses.pop(self.lead.pk, None)
        if pause is not None:
            event = self.event
            self.clock_events.extend(
                _end_pause(
                    pause, self.lead, self.mine, at=event.occurred_at, by=event.actor, reason=reason
                )
            )

    def _stage_moved(self) -> None:
        # A stage the goal's follow-up does not cover stops it.
        lead = self.lead
        self._close(
            [
                c
                for c in self.mine
                if c.kind == ClockKind.FOLLOW_UP and not followup_applies(c.goal, lead.stage)
            ],
            ClockState.CANCELLED,
        )
        if lead.pk in self.pauses and not any(c.state == ClockState.PAUSED for c in self.mine):
            self._end_pause(PauseEnd.NOTHING_HELD)

    def _reassigned(self) -> None:
        lead, event = self.lead, self.event
        if lead.owner_id and self._has(ClockKind.ASSIGNMENT):
            # A queued lead given to a rep through a reassignment: the manager's
            # promise is kept and the rep's accept clock starts.
            self._stop([ClockKind.ASSIGNMENT], ClockState.MET)
            if not self._has(ClockKind.ACCEPT):
                self._start(ClockKind.ACCEPT)
        if _reassign(
            lead, self.mine, event.occurred_at, event.actor, self.starts, self.clock_events
        ):
            self._end_pause(PauseEnd.REASSIGNED)
        elif lead.pk in self.pauses:
            Pause.objects.filter(pk=self.pauses[lead.pk].pk).update(
                owner_id=lead.owner_id, team_id=lead.team_id
            )


def _reassign(lead, mine, at, actor, starts, clock_events) -> bool:
    """Move the lead's clocks to its new owner; True if they were restarted."""
    restarted = False
    for c in list(mine):
        if c.state == ClockState.BREACHED or c.agreement.restart_on_reassign:
            # A breach moved to a new owner is resolved for the old one; the new
            # owner gets a fresh deadline.
            clock_events.extend(
                _close(c, state=ClockState.CANCELLED, at=at, actor=actor, because=Action.REASSIGN)
            )
            mine.remove(c)
            starts.append((lead, c.kind, at))
            restarted = True
        else:
            Clock.objects.filter(pk=c.pk).update(owner_id=lead.owner_id, team_id=lead.team_id)
    return restarted


# -- agreed pauses: a condition the agreement names holds the lead's clocks ------------------


def _open_pauses(leads: list[Lead]) -> dict[int, Pause]:
    """The open pause of each of these leads that shows one (none read otherwise)."""
    paused = {lead.pk for lead in leads if lead.paused_until is not None}
    if not paused:
        return {}
    return {
        p.lead_id: p
        for p in Pause.objects.select_for_update().filter(lead_id__in=paused, ended_at__isnull=True)
    }


def _spec_of(team_id: int | None) -> CalendarSpec:
    if team_id is None:
        return selectors.default_spec("UTC")
    return selectors.calendars_for_teams([team_id]).get(team_id) or selectors.default_spec("UTC")


def _pause(lead: Lead, mine: list[Clock], event: LeadEvent) -> list[ClockEvent]:
    """An agreed condition pauses the lead's running clocks until its maximum (the
    condition, note and maximum are in the event: sla.pauses.lead_pause wrote them)."""
    at, data = event.occurred_at, event.data
    held = [c for c in mine if c.state == ClockState.RUNNING]
    if not held:
        raise GuardRefused("Nothing is due on this lead now: there is no deadline to pause.")
    if any(c.due_at <= at for c in held):
        # Late is late: a pause holds what is still in time, it does not hide a breach.
        raise GuardRefused(
            "Its deadline has passed already, so it cannot be paused: touch the lead instead."
        )
    until = datetime.fromisoformat(data["until"])
    pause = Pause.objects.create(
        lead_id=lead.pk,
        condition_id=data["condition"],
        reason=data["reason"],
        note=data["note"],
        owner_id=lead.owner_id,
        team_id=lead.team_id,
        set_by=event.actor,
        started_at=at,
        ends_at=until,
    )
    spec = _spec_of(lead.team_id)
    events = []
    for c in held:
        remaining = _hold(c, spec, at, paused_by=pause, resume_at=until)
        events.append(
            _event(
                c,
                ClockEventKind.PAUSED,
                at,
                actor=event.actor,
                pause=pause.pk,
                reason=pause.reason,
                note=pause.note,
                until=data["until"],
                remaining=str(remaining),
            )
        )
    leads_set_pause(rows=[(lead.pk, until, pause.reason)])
    lead.paused_until, lead.pause_reason = until, pause.reason
    return events


def _end_pause(
    pause: Pause, lead: Lead, mine: list[Clock], *, at: datetime, by, reason: str
) -> list[ClockEvent]:
    """End an agreed pause before its maximum: the clocks it still holds (those the
    event did not meet or cancel) run again with the time they had left, or stay
    paused if their rep is away and the agreement pauses for that."""
    spec = _spec_of(pause.team_id)
    Pause.objects.filter(pk=pause.pk, ended_at__isnull=True).update(
        ended_at=at,
        ended_by=by,
        end_reason=reason,
        held_seconds=int(business_time_between(spec, pause.started_at, at).total_seconds()),
    )
    leads_set_pause(rows=[(lead.pk, None, "")])
    lead.paused_until, lead.pause_reason = None, ""
    held = [c for c in mine if c.state == ClockState.PAUSED and c.paused_by_id == pause.pk]
    return [_resume(c, spec, at=at, by=by, why=reason) for c in held]


def _resume(c: Clock, spec: CalendarSpec, *, at: datetime, by, why: str) -> ClockEvent:
    pause_id = c.paused_by_id
    away = c.agreement.pause_when_away and c.owner_id and _is_away(c.owner_id)
    if away:
        # Its rep is away: it stays paused, now for that reason (their return resumes it).
        Clock.objects.filter(pk=c.pk).update(paused_by=None, resume_at=None)
        return _event(c, ClockEventKind.PAUSED, at, actor=by, pause=pause_id, reason="rep away")
    due_at = _release(c, spec, at)
    return _event(
        c,
        ClockEventKind.RESUMED,
        at,
        actor=by,
        pause=pause_id,
        why=PauseEnd(why).label,
        due_at=due_at.isoformat(),
    )


def own_spec(c: Clock, spec: CalendarSpec, reps: dict | None = None) -> CalendarSpec:
    """The calendar this clock runs on, from its team's `spec` (reads `c.agreement`; under
    a "rep" agreement, one query for its owner's hours, kept in `reps` when given:
    sla.selectors.calendar_for_clock)."""
    if c.agreement.clock_calendar != ClockCalendar.REP or c.kind not in selectors.REP_CLOCK_KINDS:
        return spec
    reps = {} if reps is None else reps
    if c.owner_id not in reps:
        reps[c.owner_id] = selectors.rep_hours([c.owner_id]).get(c.owner_id)
    owner = reps[c.owner_id]
    return selectors.calendar_for_clock(
        clock_calendar=c.agreement.clock_calendar, kind=c.kind, team_spec=spec, owner=owner
    )


def _hold(c: Clock, spec: CalendarSpec, at: datetime, **also) -> timedelta:
    """Pause a running clock at `at`: the business time it has left (`spec`: its team's)."""
    spec = own_spec(c, spec)
    remaining = max(business_time_between(spec, at, c.due_at), timedelta(0))
    Clock.objects.filter(pk=c.pk, state=ClockState.RUNNING).update(
        state=ClockState.PAUSED, paused_at=at, remaining=remaining, **also
    )
    c.state = ClockState.PAUSED
    return remaining


def _release(c: Clock, spec: CalendarSpec, at: datetime) -> datetime:
    """Run a paused clock again from `at` with the business time it had left (reads
    `c.goal`; `spec`: its team's): its new deadline."""
    spec = own_spec(c, spec)
    warn_at, due_at = resumed_deadlines(spec, at, c.remaining, c.hours, c.goal.warn_percent)
    Clock.objects.filter(pk=c.pk, state=ClockState.PAUSED).update(
        state=ClockState.RUNNING,
        due_at=due_at,
        warn_at=warn_at,
        paused_at=None,
        remaining=None,
        paused_by=None,
        resume_at=None,
    )
    c.state = ClockState.RUNNING
    return due_at


def _is_away(user_id: int) -> bool:
    return User.objects.filter(pk=user_id, is_away=True).exists()


def sync_leads(lead_ids: Iterable[int], *, unpaused: bool = False) -> None:
    """Put each lead's nearest unmet deadline and staleness on the lead (two queries in
    all); `unpaused`: in the same statement, the leads no longer show an agreed pause.

    The deadline shown is the earliest of its running clocks and of its breached clocks
    not yet resolved (an overdue lead keeps the deadline it missed, so the inbox's
    "due soonest" puts it first). So a breach never moves it: a breach only sets
    `stale_since`, which no index holds, and PostgreSQL updates the lead in place (a
    HOT update) instead of writing a new entry in each of the lead's indexes."""
    lead_ids = list(set(lead_ids))
    if not lead_ids:
        return
    due: dict[int, tuple[datetime, datetime]] = {}
    stale: dict[int, datetime] = {}
    for lead_id, state, due_at, warn_at, breached_at in Clock.objects.filter(
        Q(state=ClockState.RUNNING) | Q(state=ClockState.BREACHED, resolved_at__isnull=True),
        lead_id__in=lead_ids,
    ).values_list("lead_id", "state", "due_at", "warn_at", "breached_at"):
        if lead_id not in due or due_at < due[lead_id][0]:
            due[lead_id] = (due_at, warn_at)
        if state == ClockState.BREACHED and (lead_id not in stale or breached_at < stale[lead_id]):
            stale[lead_id] = breached_at
    leads_set_deadlines(
        rows=[
            (lead_id, *(due.get(lead_id) or (None, None)), stale.get(lead_id))
            for lead_id in lead_ids
        ],
        unpaused=unpaused,
    )


def _lock_leads(clocks) -> None:
    """Lock the leads of these clocks before the clocks, in id order: the order of
    every lead transition (lead, then its clocks), so the two never deadlock."""
    lead_ids = clocks.values_list("lead_id", flat=True)
    list(Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk").values_list("pk"))


# -- pausing while a rep is away -------------------------------------------------------


def on_member_away(*, member, away: bool, now: datetime) -> None:
    """A rep marked away: their running clocks pause (if the agreement says so);
    back: they resume with the business time that was left."""
    spec_for = selectors.calendars_for_teams([member.team_id] if member.team_id else [])
    spec = spec_for.get(member.team_id) or selectors.default_spec("UTC")
    touched = []
    events = []
    _lock_leads(Clock.objects.filter(owner=member, state__in=OPEN))
    if away:
        for c in (
            Clock.objects.select_for_update(of=("self",))
            .filter(owner=member, state=ClockState.RUNNING, agreement__pause_when_away=True)
            .select_related("agreement")
        ):
            remaining = _hold(c, spec, now)
            events.append(_event(c, ClockEventKind.PAUSED, now, remaining=str(remaining)))
            touched.append(c.lead_id)
    else:
        # Not the clocks an agreed pause holds: that pause's own end resumes them.
        for c in (
            Clock.objects.select_for_update(of=("self",))
            .filter(owner=member, state=ClockState.PAUSED, paused_by__isnull=True)
            .select_related("goal", "agreement")
        ):
            due_at = _release(c, spec, now)
            events.append(_event(c, ClockEventKind.RESUMED, now, due_at=due_at.isoformat()))
            touched.append(c.lead_id)
    ClockEvent.objects.bulk_create(events)
    sync_leads(touched)


# -- a calendar edited: its running clocks get new deadlines -------------------------------


def on_calendar_changed(calendar_id: int) -> None:
    from django.db import transaction

    from sla.models import BusinessCalendar

    calendar = BusinessCalendar.objects.filter(pk=calendar_id).select_related("team").first()
    if calendar is None or calendar.team_id is None:
        return
    spec = selectors.calendar_for_team(calendar.team)
    reps: dict = {}
    with transaction.atomic():
        _recompute(
            Clock.objects.filter(team_id=calendar.team_id, **STILL_RUNNING),
            lambda c: own_spec(c, spec, reps),
            calendar=calendar_id,
        )


def on_member_shift(*, member, now: datetime) -> None:
    """A rep's working hours or zone changed (alignment.services.shift_listeners): the
    running clocks that count their own hours (a "rep" agreement's accept, first-touch and
    follow-up clocks) get new deadlines, as a calendar edit gives its team's."""
    clocks = Clock.objects.filter(
        owner_id=member.pk,
        kind__in=selectors.REP_CLOCK_KINDS,
        agreement__clock_calendar=ClockCalendar.REP,
        **STILL_RUNNING,
    )
    if not clocks.exists():
        return
    teams = set(clocks.values_list("team_id", flat=True)) - {None}
    specs = selectors.calendars_for_teams(teams)
    default = selectors.default_spec("UTC")
    reps: dict = {}
    _recompute(
        clocks, lambda c: own_spec(c, specs.get(c.team_id, default), reps), hours_of=member.pk
    )


# Running clocks whose deadline a calendar or a shift may move (a paused one has none yet; an
# arbiter's extension keeps the deadline it gave).
STILL_RUNNING = {"state": ClockState.RUNNING, "paused_at__isnull": True, "extended": False}


def _recompute(clocks, spec_for, **why) -> None:
    """New deadlines for these running clocks, from their start on `spec_for(clock)`; each
    moved one recorded (`why`: what moved it) and its lead put right."""
    changed = []
    events = []
    # Leads first, as everywhere: the scan holds a lead while it claims its clocks.
    _lock_leads(clocks)
    for c in clocks.select_for_update(of=("self",)).select_related("goal", "agreement"):
        warn_at, due_at = deadlines(spec_for(c), c.started_at, c.hours, c.goal.warn_percent)
        if (warn_at, due_at) != (c.warn_at, c.due_at):
            Clock.objects.filter(pk=c.pk, state=ClockState.RUNNING).update(
                warn_at=warn_at, due_at=due_at
            )
            events.append(
                _event(c, ClockEventKind.RECOMPUTED, time.now(), due_at=due_at.isoformat(), **why)
            )
            changed.append(c.lead_id)
    ClockEvent.objects.bulk_create(events)
    sync_leads(changed)


# -- the abandon rule: the state machine asks before a rep gives up on a lead ----------------


def working_days_between(spec: CalendarSpec, start: datetime, end: datetime) -> int:
    """Working days after `start`'s local day up to and including `end`'s."""
    zone = spec.zone
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    count = 0
    while day < last:
        day += timedelta(days=1)
        if spec.day_intervals(day):
            count += 1
    return count


def abandon_problems(
    goal, *, spec: CalendarSpec, touches: int, first_touch_at: datetime | None, now: datetime
) -> list[str]:
    """What the agreement still asks of a lead before it may be abandoned: its attempts,
    spread over its business days ([] when none)."""
    problems = []
    if touches < goal.min_attempts:
        problems.append(f"{goal.min_attempts} attempts (this lead has {touches})")
    if goal.attempt_days and first_touch_at:
        days = working_days_between(spec, first_touch_at, now)
        if days < goal.attempt_days:
            problems.append(
                f"attempts spread over {goal.attempt_days} business days (so far {days})"
            )
    elif goal.attempt_days:
        problems.append(f"attempts spread over {goal.attempt_days} business days (none yet)")
    return problems


def abandon_guard(*, lead, action, target, by, now) -> None:
    """Closing a lead sales works (SAL, SQL or opportunity) as lost or no decision needs
    the agreed attempts first."""
    if action != Action.CLOSE or target not in (Stage.LOST, Stage.NO_DECISION):
        return
    if lead.stage not in SALES_WORKING:
        return
    if by is not None and by.has_perm("alignment.arbitrate"):
        return
    clock = (
        Clock.objects.filter(lead_id=lead.pk).select_related("goal").order_by("-started_at").first()
    )
    goal = clock.goal if clock else None
    if goal is None:
        agreement = selectors.agreement_in_force()
        goal = _goal(agreement, lead) if agreement else None
    if goal is None:
        return
    spec = selectors.calendar_for_team(lead.team) if lead.team_id else None
    problems = abandon_problems(
        goal,
        spec=spec or selectors.default_spec("UTC"),
        touches=lead.touch_count,
        first_touch_at=lead.first_touch_at,
        now=now,
    )
    if problems:
        raise GuardRefused(
            f"The agreement ({goal.label}) asks for "
            + " and ".join(problems)
            + " before a lead may be abandoned. Keep working it, or ask your manager.",
            missing=problems,
        )
