"""The scan: breaches, warnings and escalations that are due, a batch at a time, each once.

Each step walks what is due through a partial index whose condition is the
step's filter, in (deadline, id) order, a batch at a time, until nothing is
left. A batch is one transaction of a few set-based statements, whatever its
size:

1. lock the batch's leads, in id order, SKIP LOCKED: the lead before its
   clocks, the order every lead transition uses (the other order deadlocks
   with a rep acting at that moment); a lead someone else holds (a rep, or
   another scanner on the same burst) is left to them and the walk moves on,
   so several scanners share a burst without waiting on each other;
2. claim its clocks with one compare-and-set `UPDATE … FROM unnest(…)
   RETURNING` whose condition is the step's filter again: a clock another
   scan (or a second beat) took first no longer matches, so no clock is acted
   on twice;
3. record the events (one multi-row INSERT), mark a breach's leads stale (one
   column, in no index: they keep the deadline they missed) or put a resume's
   deadlines right, and write the notifications (one INSERT … ON CONFLICT DO
   NOTHING); email goes out after commit.

A breach is recorded at its true time (`due_at`), however late the scan runs;
`recorded_at` is when the row was written. A clock already due is breached,
never warned. A batch that fails (at any statement or at commit, e.g. a
deferred constraint) is rolled back and retried clock by clock; a clock that
fails alone is held back (ScanHold) with a growing delay and logged once, so
it neither stalls the scan nor fills the log every 15 seconds. The counts a
scan returns are what was committed.

Steps are declared in one table (STEPS), generic over clock kinds: what a
step claims and sets, the event it records and whom it tells. Besides the
deadlines, one step ends the agreed pauses that reached their maximum (the
clocks they hold resume with the time they had left).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from celery.exceptions import SoftTimeLimitExceeded
from django.db import (
    InterfaceError,
    OperationalError,
    ProgrammingError,
    connection,
    transaction,
)
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.urls import reverse

from alignment import clock as time
from alignment.bulk import insert_rows, update_rows
from alignment.models import Team, User
from alignment.notifications import Notice, notify_many, queue_delivery
from alignment.roles import ROLE_NAMES, Role
from leads.models import LABEL_FIELDS, Lead, lead_label
from leads.services import leads_mark_stale, leads_mark_stale_sql
from sla import rollups, selectors
from sla.calendars import CalendarSpec, add_business_time, business_time_between
from sla.clocks import sync_leads
from sla.deadlines import hours, resumed_deadlines
from sla.models import (
    Agreement,
    ArbiterCase,
    CaseKind,
    Clock,
    ClockCalendar,
    ClockEvent,
    ClockEventKind,
    ClockKind,
    ClockState,
    Pause,
    PauseEnd,
    ScanHold,
)

log = logging.getLogger(__name__)
BATCH = 1000

# A failing clock is tried again after HOLD_FIRST, then twice as long each time, up to
# HOLD_LONGEST (an admin deleting its hold has it tried at the next scan).
HOLD_FIRST = timedelta(minutes=5)
HOLD_LONGEST = timedelta(hours=1)

# Not the clock's fault (the database went away, the task's time is up, the SQL or the
# schema is wrong after a bad deploy): never a reason to hold a clock back; the scan
# stops, loudly, and the next one starts over.
NOT_THE_CLOCKS_FAULT = (OperationalError, InterfaceError, ProgrammingError, SoftTimeLimitExceeded)


@dataclass
class ScanResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0
    resumed: int = 0  # clocks an agreed pause held until its maximum
    held: int = 0  # clocks that failed and were held back in this scan

    def __str__(self) -> str:
        text = f"warned {self.warned}, breached {self.breached}, escalated {self.escalated}"
        text += f", resumed {self.resumed}" if self.resumed else ""
        return text + (f"; held back after an error: {self.held}" if self.held else "")


def on_batch(stage: str, step: str, clock_ids: list[int]) -> None:
    """Called inside each batch's transaction once its leads are locked ("locked") and
    once its clocks are claimed and recorded ("written"). Does nothing; a test replaces
    it to pause or kill a scan at a known point."""


# -- the steps --------------------------------------------------------------------------

AT = "the batch's time"  # a value in Step.sets: the time of the batch (when rows are written)
PER_CLOCK = "per clock"  # a value in Step.sets: computed for each clock by Step.prepare


@dataclass(frozen=True)
class Step:
    name: str  # also the step a ScanHold names
    counter: str  # the ScanResult field it adds to
    due_field: str  # the column the step's partial index orders by
    due: Callable[[datetime], Q]  # what is due at `at`: the index condition and more
    sets: dict[str, Any]  # column -> a constant, AT, F("other column") or PER_CLOCK
    event_kind: str
    event_at: Callable[[dict, datetime], datetime]
    event_data: Callable[[dict, datetime], dict]
    notices: Callable[[dict, _Batch], Iterable[Notice]]
    # Per clock, before the claim: {column: value} for the PER_CLOCK columns. A clock whose
    # preparation raises is held back alone; the rest of the batch goes on.
    prepare: Callable[[dict, _Context], dict[str, Any]] | None = None
    # Columns the claim also compares with what the batch read (a deadline moved meanwhile
    # means what `prepare` computed from it is stale: not claimed, found again later).
    expect: tuple[str, ...] = ()
    # Columns the batch reads of each clock besides CANDIDATE's (for `prepare`, and for
    # the events and notices as `row["before"]`: what the clock was before the claim).
    reads: tuple[str, ...] = ()
    after_claim: Callable[[list[dict], datetime, _Context], None] | None = None
    marks_stale: bool = False  # do its leads go stale, since the event's time?
    moments: tuple[str, ...] = ()  # the clock's timestamps its events and notices need
    # On PostgreSQL, the event's time and data as SQL over the claimed clock's returned
    # columns (`batch_at`: the batch's time), the same as event_at and event_data: the claim
    # then records the events (and the leads' staleness) in its own statement, from
    # the rows it claimed, rather than sending them back. None: recorded from Python.
    event_sql: tuple[str, str] | None = None

    @property
    def returned(self) -> tuple[str, ...]:
        return (*RETURNED, *self.moments)


_KIND_LABELS = dict(ClockKind.choices)


def _kind_label(row: dict) -> str:
    return _KIND_LABELS.get(row["kind"], row["kind"])


def _lead_url(row: dict, batch: _Batch) -> str:
    return batch.ctx.url("leads:detail", row["lead_id"])


@lru_cache(maxsize=4096)
def _minute(moment: datetime) -> str:
    return f"{moment:%a %d %b %H:%M} UTC"


def _when(moment: datetime) -> str:
    # A burst's deadlines share their minutes: format each minute once, not each clock.
    return _minute(moment.astimezone(UTC).replace(second=0, microsecond=0))


def _escalation_due(row: dict, ctx: _Context) -> dict[str, Any]:
    spec = ctx.spec(row["team_id"])
    delay = hours(ctx.escalation_hours(row["agreement_id"]))
    return {"escalation_due_at": add_business_time(spec, row["due_at"], delay)}


def _breach_notices(row: dict, batch: _Batch) -> list[Notice]:
    ctx = batch.ctx
    owner = ctx.user(row["owner_id"])
    return [
        Notice(
            recipients=[owner, ctx.user(ctx.manager_id(row["team_id"]))],
            key=f"clock:{row['id']}:breached",
            kind="sla_breached",
            title=f"Breached: {_kind_label(row).lower()} for {batch.lead(row)}",
            body=f"Due {_when(row['due_at'])}; held by {ctx.label(owner)}. It goes to the arbiter "
            f"at {_when(row['escalation_due_at'])} unless it is acted on.",
            url=_lead_url(row, batch),
        )
    ]


def _warning_title(row: dict, lead: _LockedLead) -> str:
    agreed, made = lead.attempts_agreed, lead.touch_count
    if row["kind"] == ClockKind.FOLLOW_UP and agreed and made < agreed:
        # The agreed attempts fall behind: flagged to the rep before anything breaches.
        return f"Attempt {made + 1} of {agreed} due soon: {lead}"
    return f"{_kind_label(row)} due soon: {lead}"


def _warning_notices(row: dict, batch: _Batch) -> list[Notice]:
    return [
        Notice(
            recipients=[batch.ctx.user(row["owner_id"])],
            key=f"clock:{row['id']}:warning",
            kind="sla_warning",
            title=_warning_title(row, batch.lead(row)),
            body=f"Due {_when(row['due_at'])}.",
            url=_lead_url(row, batch),
        )
    ]


def _open_cases(rows: list[dict], at: datetime, ctx: _Context) -> None:
    """One arbiter case per escalated clock (a case that exists already is kept), counted
    in the decisions panel's rollup under the clock's team (the lead's)."""
    fields = (
        "kind", "lead_id", "clock_id", "team_id", "opened_at", "decision", "against_side", "reason",
    )  # fmt: skip
    made = {
        row["id"]: (
            CaseKind.ESCALATION,
            row["lead_id"],
            row["id"],
            row["team_id"],
            # Opened when the escalation fell due, as its event says, not when this
            # scan noticed it (after an outage, or the demo's first scan, days later).
            min(row["escalation_due_at"] or at, at),
            "",
            "",
            "",
        )
        for row in rows
    }
    if connection.vendor == "postgresql":
        # Only the cases this statement inserted are counted: two scans never count one.
        returned = insert_rows(
            ArbiterCase, fields, list(made.values()), ignore_conflicts=True, returning=("clock_id",)
        )
        fresh = {clock_id for (clock_id,) in returned}
    else:
        fresh = set(made) - set(
            ArbiterCase.objects.filter(clock_id__in=made).values_list("clock_id", flat=True)
        )
        insert_rows(ArbiterCase, fields, [made[c] for c in fresh], ignore_conflicts=True)
    rollups.record_cases_opened((made[c][4], made[c][3], made[c][0]) for c in sorted(fresh))
    cases = dict(
        ArbiterCase.objects.filter(clock_id__in=[row["id"] for row in rows]).values_list(
            "clock_id", "pk"
        )
    )
    for row in rows:
        row["case"] = cases[row["id"]]


def _escalation_notices(row: dict, batch: _Batch) -> list[Notice]:
    return [
        Notice(
            recipients=batch.ctx.arbiters(),
            key=f"clock:{row['id']}:escalated",
            kind="escalated",
            title=f"Escalated to you: {batch.lead(row)}",
            body=f"{_kind_label(row)} breached at {_when(row['breached_at'])} by "
            f"{batch.ctx.user(row['owner_id'])} and still not resolved.",
            url=batch.ctx.url("sla:case_detail", row["case"]),
        )
    ]


BREACH = Step(
    name="breach",
    counter="breached",
    due_field="due_at",
    due=lambda at: Q(state=ClockState.RUNNING, due_at__lte=at),
    sets={
        "state": ClockState.BREACHED,
        "breached_at": F("due_at"),
        "escalation_due_at": PER_CLOCK,
    },
    prepare=_escalation_due,
    expect=("due_at",),
    event_kind=ClockEventKind.BREACHED,
    event_at=lambda row, at: row["due_at"],
    event_data=lambda row, at: {
        "noticed_late_by_seconds": int((at - row["due_at"]).total_seconds())
    },
    notices=_breach_notices,
    marks_stale=True,
    moments=("due_at", "escalation_due_at"),
    event_sql=(
        "due_at",
        "jsonb_build_object("
        "'noticed_late_by_seconds', trunc(extract(epoch FROM batch_at - due_at))::int)",
    ),
)

WARNING = Step(
    name="warning",
    counter="warned",
    due_field="warn_at",
    # Not once the deadline itself has passed: that clock is breached, never warned late.
    due=lambda at: Q(
        state=ClockState.RUNNING, warned_at__isnull=True, warn_at__lte=at, due_at__gt=at
    ),
    sets={"warned_at": AT},
    event_kind=ClockEventKind.WARNED,
    event_at=lambda row, at: row["warn_at"],
    event_data=lambda row, at: {"due_at": row["due_at"].isoformat()},
    notices=_warning_notices,
    moments=("warn_at", "due_at"),
)

ESCALATION = Step(
    name="escalation",
    counter="escalated",
    due_field="escalation_due_at",
    due=lambda at: Q(
        state=ClockState.BREACHED,
        escalated_at__isnull=True,
        resolved_at__isnull=True,
        escalation_due_at__lte=at,
    ),
    sets={"escalated_at": AT},
    after_claim=_open_cases,
    event_kind=ClockEventKind.ESCALATED,
    event_at=lambda row, at: row["escalation_due_at"] or at,
    event_data=lambda row, at: {"case": row["case"]},
    notices=_escalation_notices,
    moments=("breached_at", "escalation_due_at"),
)


def _resumed(row: dict, ctx: _Context) -> dict[str, Any]:
    warn_at, due_at = resumed_deadlines(
        ctx.clock_spec(row),
        row["resume_at"],
        row["remaining"],
        row["hours"],
        row["goal__warn_percent"],
    )
    return {"due_at": due_at, "warn_at": warn_at}


def _end_pauses(rows: list[dict], at: datetime, ctx: _Context) -> None:
    """The pauses whose clocks resumed end at their maximum; a clock whose rep is away
    meanwhile pauses again for that (as the agreement says), until the rep is back; the
    leads show their deadlines again, and no pause."""
    ends = list(
        Pause.objects.filter(
            pk__in={row["before"]["paused_by_id"] for row in rows}, ended_at__isnull=True
        ).values_list("pk", "lead_id", "team_id", "started_at", "ends_at")
    )
    held = {
        pk: int(business_time_between(ctx.spec(team_id), started, ends).total_seconds())
        for pk, _, team_id, started, ends in ends
    }
    # Under the leads' locks (the batch took them): nothing else ends these meanwhile.
    ended = [(pk, ends_at, PauseEnd.MAXIMUM, held[pk]) for pk, _, _, _, ends_at in ends]
    if connection.vendor == "postgresql":
        update_rows(Pause, ("id", "ended_at", "end_reason", "held_seconds"), ended)
    else:
        for pk, ended_at, reason, seconds in ended:
            Pause.objects.filter(pk=pk).update(
                ended_at=ended_at, end_reason=reason, held_seconds=seconds
            )
    away = Clock.objects.filter(
        pk__in=[row["id"] for row in rows],
        state=ClockState.RUNNING,
        owner__is_away=True,
        agreement__pause_when_away=True,
    ).values("pk", "team_id", "due_at", "owner_id", "kind", "agreement__clock_calendar")
    for row in away:
        pk, due_at = row["pk"], row["due_at"]
        remaining = max(business_time_between(ctx.clock_spec(row), at, due_at), timedelta(0))
        Clock.objects.filter(pk=pk, state=ClockState.RUNNING).update(
            state=ClockState.PAUSED, paused_at=at, remaining=remaining
        )
    # The leads' deadlines back, and their pauses gone, in one statement.
    sync_leads({row["lead_id"] for row in rows}, unpaused=True)


def _resume_notices(row: dict, batch: _Batch) -> list[Notice]:
    return [
        Notice(
            recipients=[batch.ctx.user(row["owner_id"])],
            key=f"pause:{row['before']['paused_by_id']}:ended",
            kind="pause_ended",
            title=f"Pause over: {batch.lead(row)}",
            body=f"The agreed pause reached its maximum: the {_kind_label(row).lower()} is "
            f"due {_when(row['due_at'])}.",
            url=_lead_url(row, batch),
        )
    ]


RESUME = Step(
    name="resume",
    counter="resumed",
    due_field="resume_at",
    due=lambda at: Q(state=ClockState.PAUSED, resume_at__isnull=False, resume_at__lte=at),
    sets={
        "state": ClockState.RUNNING,
        "due_at": PER_CLOCK,
        "warn_at": PER_CLOCK,
        "paused_at": None,
        "remaining": None,
        "resume_at": None,
        "paused_by_id": None,
    },
    prepare=_resumed,
    expect=("resume_at",),
    reads=(
        "remaining",
        "hours",
        "goal__warn_percent",
        "paused_by_id",
        "kind",
        "agreement__clock_calendar",
    ),
    after_claim=_end_pauses,
    event_kind=ClockEventKind.RESUMED,
    event_at=lambda row, at: row["before"]["resume_at"],
    event_data=lambda row, at: {
        "pause": row["before"]["paused_by_id"],
        "why": PauseEnd.MAXIMUM,
        "due_at": row["due_at"].isoformat(),
    },
    notices=_resume_notices,
    moments=("due_at",),  # its leads are put right by _end_pauses
)

# Pauses over first (a resumed clock may be due at once: the breach step then sees it);
# then breaches: a burst's breaches are what is promised soonest after the deadline.
STEPS = (RESUME, BREACH, WARNING, ESCALATION)

# What a claim returns of each clock (its values after the claim), and each step's
# moments of the clock besides: converting timestamps is much of a big claim's cost.
RETURNED = ("id", "lead_id", "owner_id", "team_id", "kind", "goal_id")
CANDIDATE = ("id", "lead_id", "owner_id", "team_id", "agreement_id", "due_at")
EVENT_COLUMNS = ("clock_id", "lead_id", "kind", "occurred_at", "recorded_at", "data")


# -- the scan ---------------------------------------------------------------------------


def scan(*, now: datetime | None = None, batch: int = BATCH) -> ScanResult:
    """Run every step until nothing is due. With `now`, everything is as of that moment;
    without, each batch takes the time it runs at (so a long scan keeps up)."""
    result = ScanResult()
    ctx = _Context()
    for step in STEPS:
        done, held = run_step(step, now=now, batch=batch, ctx=ctx)
        setattr(result, step.counter, getattr(result, step.counter) + done)
        result.held += held
    if ctx.emails:
        queue_delivery(emails=ctx.emails)  # woken once for the whole scan, not per clock
    return result


def run_step(
    step: Step, *, now: datetime | None = None, batch: int = BATCH, ctx: _Context | None = None
) -> tuple[int, int]:
    """Walk what `step` finds due, a batch at a time: (clocks done, clocks held back)."""
    ctx = ctx or _Context()
    done = held = 0
    after: tuple[datetime, int] | None = None
    while True:
        at = now or time.now()
        candidates = _due(step, at, after, batch)
        if not candidates:
            break
        after = (candidates[-1][step.due_field], candidates[-1]["id"])
        claimed, failed = _attempt(step, candidates, at, ctx)
        done += claimed
        held += _hold(step, failed, at)
        if len(candidates) < batch:
            break
    return done, held


def _due(step: Step, at: datetime, after: tuple[datetime, int] | None, batch: int) -> list[dict]:
    """The next batch due, past `after` in (deadline, id) order, without the held-back clocks."""
    holds = ScanHold.objects.filter(clock=OuterRef("pk"), step=step.name)
    due = (
        Clock.objects.filter(step.due(at))
        .exclude(Exists(holds.filter(retry_at__gt=at)))
        .annotate(held=Exists(holds))
    )
    if after is not None:
        moment, pk = after
        field_name = step.due_field
        due = due.filter(
            Q(**{f"{field_name}__gt": moment}) | Q(**{field_name: moment, "pk__gt": pk}),
            **{f"{field_name}__gte": moment},
        )
    columns = dict.fromkeys((*CANDIDATE, *step.reads, step.due_field, "held"))
    return list(due.order_by(step.due_field, "pk").values(*columns)[:batch])


def _attempt(
    step: Step, candidates: list[dict], at: datetime, ctx: _Context
) -> tuple[int, dict[int, BaseException]]:
    """The batch in one transaction; if it fails, each clock in a transaction of its own."""
    try:
        with transaction.atomic():
            claimed, failed = _batch(step, candidates, at, ctx)
        return claimed, failed
    except NOT_THE_CLOCKS_FAULT:
        raise
    except Exception as exc:  # noqa: BLE001 - any fault of a row: find which, clock by clock
        log.warning(
            "SLA scan: a batch of %d clocks failed at the %s step (%r); retrying it clock by clock",
            len(candidates),
            step.name,
            exc,
        )
    claimed, failed = 0, {}
    for candidate in candidates:
        try:
            with transaction.atomic():
                one, one_failed = _batch(step, [candidate], at, ctx)
        except NOT_THE_CLOCKS_FAULT:
            raise
        except Exception as exc:  # noqa: BLE001 - this clock's fault: hold it back
            failed[candidate["id"]] = exc
            continue
        claimed += one
        failed.update(one_failed)
    return claimed, failed


# Long: a batch's statements in their lock order (leads, then clocks, then what the
# breach writes); split up, the order that keeps two scanners from deadlocking is
# no longer visible in one place.
def _batch(
    step: Step, candidates: list[dict], at: datetime, ctx: _Context
) -> tuple[int, dict[int, BaseException]]:
    """One batch, inside the caller's transaction: lock, claim, record, notify."""
    by_id = {c["id"]: c for c in candidates}
    leads = {
        row[-1]: _LockedLead(lead_label(*row[2:]), touch_count=row[0], attempts_agreed=row[1])
        for row in Lead.objects.select_for_update(skip_locked=True)
        .filter(pk__in={c["lead_id"] for c in candidates})
        .order_by("pk")
        .values_list("touch_count", "attempts_agreed", *LABEL_FIELDS)
    }
    on_batch("locked", step.name, list(by_id))
    mine = [c for c in candidates if c["lead_id"] in leads]
    values: dict[int, dict[str, Any]] = {}
    failed: dict[int, BaseException] = {}
    if step.prepare is not None:
        ctx.load(mine)
        for candidate in mine:
            try:
                values[candidate["id"]] = step.prepare(candidate, ctx)
            except Exception as exc:  # noqa: BLE001 - this clock alone is held back
                failed[candidate["id"]] = exc
    ready = [c for c in mine if c["id"] not in failed]
    rows = _claim(step, ready, values, at) if ready else []
    if not rows:
        return 0, failed
    for row in rows:
        row["before"] = by_id[row["id"]]
    if step.after_claim is not None:
        step.after_claim(rows, at, ctx)
    recorded = _records_in_claim(step)
    if not recorded:
        insert_rows(
            ClockEvent,
            EVENT_COLUMNS,
            [
                (
                    row["id"],
                    row["lead_id"],
                    step.event_kind,
                    step.event_at(row, at),
                    at,
                    step.event_data(row, at),
                )
                for row in rows
            ],
        )
    if step.event_kind == ClockEventKind.BREACHED:
        rollups.record_breaches(
            (step.event_at(row, at), row["team_id"], row["owner_id"], row["goal_id"], row["kind"])
            for row in rows
        )
    if step.marks_stale and not recorded:
        leads_mark_stale(rows=[(row["lead_id"], step.event_at(row, at)) for row in rows])
    ctx.load(rows)
    batch = _Batch(ctx=ctx, leads=leads)
    ctx.emails += notify_many(
        notices=[notice for row in rows for notice in step.notices(row, batch)],
        now=at,
        queue_delivery=False,
    )
    cleared = [row["id"] for row in rows if by_id[row["id"]]["held"]]
    if cleared:
        ScanHold.objects.filter(step=step.name, clock_id__in=cleared).delete()
    on_batch("written", step.name, [row["id"] for row in rows])
    return len(rows), failed


# -- the claim: one compare-and-set statement -------------------------------------------


def _claim(
    step: Step, candidates: list[dict], values: dict[int, dict[str, Any]], at: datetime
) -> list[dict]:
    """Set `step.sets` on the candidates that still match the step's filter (and the
    expected columns), and return them as they are after the claim."""
    if connection.vendor == "postgresql":
        return _claim_postgresql(step, candidates, values, at)
    return _claim_simple(step, candidates, values, at)


def _claim_postgresql(step, candidates, values, at) -> list[dict]:
    per_clock = [c for c, source in step.sets.items() if source is PER_CLOCK]
    sets, set_params = [], []
    for column, source in step.sets.items():
        if source is AT:
            sets.append(f'"{column}" = %s')
            set_params.append(at)
        elif source is PER_CLOCK:
            sets.append(f'"{column}" = u."{column}"')
        elif isinstance(source, F):
            sets.append(f'"{column}" = "sla_clock"."{source.name}"')
        else:
            sets.append(f'"{column}" = %s')
            set_params.append(source)
    arrays = {"id": [c["id"] for c in candidates]}
    arrays.update({column: [values[c["id"]][column] for c in candidates] for column in per_clock})
    arrays.update({f"expected_{column}": [c[column] for c in candidates] for column in step.expect})
    types = [_array_type("id")]
    types += [_array_type(column) for column in per_clock]
    types += [_array_type(column) for column in step.expect]
    unnest = ", ".join(f"%s::{t}" for t in types)
    names = ", ".join(f'"{name}"' for name in arrays)
    expected = "".join(f' AND "sla_clock"."{c}" = u."expected_{c}"' for c in step.expect)
    query = Clock.objects.filter(step.due(at)).query
    where, where_params = query.get_compiler(connection=connection).compile(query.where)
    returning = ", ".join(f'"sla_clock"."{c}"' for c in step.returned)
    # Names come from the STEPS table and the model, never from input; values are parameters.
    sql = (
        f"UPDATE sla_clock SET {', '.join(sets)} "  # noqa: S608
        f"FROM unnest({unnest}) AS u({names}) "
        f'WHERE "sla_clock"."id" = u."id"{expected} AND {where} '
        f"RETURNING {returning}"
    )
    params = [*set_params, *arrays.values(), *where_params]
    if _records_in_claim(step):
        sql, params = _recording(step, sql, params, at)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [dict(zip(step.returned, row, strict=True)) for row in cursor.fetchall()]


def _records_in_claim(step: Step) -> bool:
    return step.event_sql is not None and connection.vendor == "postgresql"


def _recording(step: Step, claim: str, params: list, at: datetime) -> tuple[str, list]:
    """The claim, and in the same statement the events of the clocks it claimed (and,
    for a step that marks leads stale, their leads), read from what it returned."""
    occurred, data = step.event_sql
    fields = ", ".join(
        connection.ops.quote_name(ClockEvent._meta.get_field(f).column) for f in EVENT_COLUMNS
    )
    sql = (
        f"WITH claimed AS ({claim}), "  # noqa: S608 - names from the STEPS table and the model
        "moments AS (SELECT claimed.*, %s::timestamptz AS batch_at FROM claimed), "
        f"events AS (INSERT INTO {ClockEvent._meta.db_table} ({fields}) "
        f"SELECT id, lead_id, %s, {occurred}, batch_at, {data} FROM moments)"
    )
    params = [*params, at, step.event_kind]
    if step.marks_stale:
        since = f"SELECT lead_id, {occurred} FROM moments"  # noqa: S608 - from STEPS
        sql += f", stale AS ({leads_mark_stale_sql(since)})"  # noqa: S608 - likewise
    return f"{sql} SELECT * FROM claimed", params  # noqa: S608 - likewise


def _array_type(column: str) -> str:
    """The PostgreSQL array type of a clock column, e.g. timestamp with time zone[]."""
    model_field = Clock._meta.pk if column == "id" else Clock._meta.get_field(column)
    return model_field.cast_db_type(connection).split("(")[0] + "[]"


def _claim_simple(step, candidates, values, at) -> list[dict]:
    """SQLite: the batch's transaction holds the database's write lock from its BEGIN
    (IMMEDIATE, see settings), so reading what still matches and then updating it is
    as safe as one statement."""
    expected = Q()
    for c in candidates:
        expected |= Q(pk=c["id"], **{column: c[column] for column in step.expect})
    rows = list(Clock.objects.filter(step.due(at)).filter(expected).values(*step.returned))
    constant = {
        column: at if source is AT else source
        for column, source in step.sets.items()
        if source is not PER_CLOCK
    }
    per_clock = {
        column: Case(
            *[When(pk=row["id"], then=Value(values[row["id"]][column])) for row in rows],
            output_field=Clock._meta.get_field(column),
        )
        for column, source in step.sets.items()
        if source is PER_CLOCK
    }
    if rows:
        Clock.objects.filter(pk__in=[row["id"] for row in rows]).update(**constant, **per_clock)
    for row in rows:
        for column, source in step.sets.items():
            if source is PER_CLOCK:
                row[column] = values[row["id"]][column]
            elif isinstance(source, F):
                row[column] = row[source.name]
            else:
                row[column] = at if source is AT else source
    return rows


# -- holding back a clock that fails ----------------------------------------------------


def _hold(step: Step, failed: dict[int, BaseException], at: datetime) -> int:
    """Hold back each failed clock: logged (with its traceback) the first time only, then
    tried again after a delay that doubles with each failure."""
    if not failed:
        return 0
    with transaction.atomic():
        holds = {
            h.clock_id: h
            for h in ScanHold.objects.select_for_update().filter(
                step=step.name, clock_id__in=list(failed)
            )
        }
        new = []
        for clock_id, exc in failed.items():
            error = f"{type(exc).__name__}: {exc}"[:2000]
            hold = holds.get(clock_id)
            if hold is None:
                log.error(
                    "SLA scan: clock %s failed at the %s step; held back until %s",
                    clock_id,
                    step.name,
                    at + HOLD_FIRST,
                    exc_info=exc,
                )
                new.append(
                    ScanHold(
                        clock_id=clock_id,
                        step=step.name,
                        failures=1,
                        first_failed_at=at,
                        last_failed_at=at,
                        retry_at=at + HOLD_FIRST,
                        error=error,
                    )
                )
                continue
            delay = min(HOLD_FIRST * 2**hold.failures, HOLD_LONGEST)
            ScanHold.objects.filter(pk=hold.pk).update(
                failures=F("failures") + 1, last_failed_at=at, retry_at=at + delay, error=error
            )
        ScanHold.objects.bulk_create(new, ignore_conflicts=True)
    return len(failed)


# -- what a scan reads once and keeps ---------------------------------------------------


@dataclass
class _Context:
    """Teams, calendars, agreements and people a scan needs, read once per scan run."""

    specs: dict[int | None, CalendarSpec] = field(default_factory=dict)
    managers: dict[int | None, int | None] = field(default_factory=dict)
    escalation: dict[int, Any] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    reps: dict[int, selectors.RepHours | None] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    emails: int = 0  # emails the scan's notifications are waiting to send
    _arbiters: list[User] | None = None

    def url(self, name: str, pk: int) -> str:
        """reverse(name, args=[pk]), reversed once per scan and filled in per clock."""
        if name not in self.urls:
            self.urls[name] = reverse(name, args=[987654321]).replace("987654321", "{}")
        return self.urls[name].format(pk)

    def load(self, rows: Iterable[dict]) -> None:
        """Read, in one query each, the teams, agreements and people of these clocks
        that this scan has not seen yet."""
        rows = list(rows)
        teams = {r["team_id"] for r in rows if r["team_id"] not in self.specs} - {None}
        if teams:
            for team in Team.objects.filter(pk__in=teams).select_related("business_calendar"):
                self.specs[team.pk] = selectors.calendar_for_team(team)
                self.managers[team.pk] = team.manager_id
        agreements = {r["agreement_id"] for r in rows if "agreement_id" in r}
        agreements -= set(self.escalation)
        if agreements:
            self.escalation.update(
                Agreement.objects.filter(pk__in=agreements).values_list("pk", "escalation_hours")
            )
        people = {r.get("owner_id") for r in rows} | {self.managers.get(r["team_id"]) for r in rows}
        people -= {None, *self.users}
        if people:
            self.users.update({u.pk: u for u in User.objects.filter(pk__in=people)})

    def spec(self, team_id: int | None) -> CalendarSpec:
        if team_id is None or team_id not in self.specs:
            return selectors.default_spec("UTC")
        return self.specs[team_id]

    def clock_spec(self, row: dict) -> CalendarSpec:
        """The calendar a clock runs on (sla.selectors.calendar_for_clock), from a row with
        its team, owner, kind and agreement's `clock_calendar`; a rep's hours read once."""
        team_spec = self.spec(row["team_id"])
        owner_id = row.get("owner_id")
        if (
            row.get("agreement__clock_calendar") != ClockCalendar.REP
            or row.get("kind") not in selectors.REP_CLOCK_KINDS
            or owner_id is None
        ):
            return team_spec
        if owner_id not in self.reps:
            self.reps[owner_id] = selectors.rep_hours([owner_id]).get(owner_id)
        return selectors.calendar_for_clock(
            clock_calendar=ClockCalendar.REP,
            kind=row["kind"],
            team_spec=team_spec,
            owner=self.reps[owner_id],
        )

    def escalation_hours(self, agreement_id: int):
        return self.escalation[agreement_id]

    def manager_id(self, team_id: int | None) -> int | None:
        return self.managers.get(team_id)

    def user(self, user_id: int | None) -> User | None:
        return self.users.get(user_id) if user_id is not None else None

    def label(self, user: User | None) -> str:
        """str(user), worked out once per person per scan (a burst names the same few)."""
        if user is None:
            return "None"
        if user.pk not in self.labels:
            self.labels[user.pk] = str(user)
        return self.labels[user.pk]

    def arbiters(self) -> list[User]:
        if self._arbiters is None:
            self._arbiters = list(
                User.objects.filter(groups__name=ROLE_NAMES[Role.ARBITER], is_active=True)
                .distinct()
                .order_by("pk")
            )
        return self._arbiters


class _LockedLead(NamedTuple):
    """What the notices say of a lead the batch locked (read with the lock, no model)."""

    label: str
    touch_count: int
    attempts_agreed: int | None

    def __str__(self) -> str:
        return self.label


@dataclass
class _Batch:
    ctx: _Context
    leads: dict[int, _LockedLead]

    def lead(self, row: dict) -> _LockedLead:
        return self.leads[row["lead_id"]]
