"""The scan: warnings, breaches and escalations that are due, each claimed once.

Each step reads only what is due through a partial index whose condition is
the step's filter, then claims each clock with a compare-and-set update and
acts only if it changed one row; so two scans (or two beat processes by
mistake) never warn, breach or escalate one clock twice. Detection writes a
ClockEvent at the true time (a breach at `due_at`, however late the scan
runs) and the notifications in the same transaction; email goes out after
commit. A clock whose handling fails is logged and left for the next scan,
and never stops the others.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from alignment import clock as time
from alignment.models import User
from alignment.notifications import notify, queue_delivery
from alignment.roles import ROLE_NAMES, Role
from leads.models import Lead
from sla import selectors
from sla.calendars import add_business_time
from sla.clocks import hours, sync_leads
from sla.models import ArbiterCase, CaseKind, Clock, ClockEvent, ClockEventKind, ClockState

log = logging.getLogger(__name__)
BATCH = 1000


@dataclass
class ScanResult:
    warned: int = 0
    breached: int = 0
    escalated: int = 0

    def __str__(self) -> str:
        return f"warned {self.warned}, breached {self.breached}, escalated {self.escalated}"


def scan(*, now: datetime | None = None, batch: int = BATCH) -> ScanResult:
    now = now or time.now()
    result = ScanResult()
    result.warned = _each(_due_warnings(now, batch), _warn, now)
    result.breached = _each(_due_breaches(now, batch), _breach, now)
    result.escalated = _each(_due_escalations(now, batch), _escalate, now)
    if result.warned or result.breached or result.escalated:
        queue_delivery()  # one wake-up for the whole scan, not one per clock
    return result


def _due_warnings(now, batch):
    return list(
        Clock.objects.filter(state=ClockState.RUNNING, warned_at__isnull=True, warn_at__lte=now)
        .order_by("warn_at")
        .values_list("pk", flat=True)[:batch]
    )


def _due_breaches(now, batch):
    return list(
        Clock.objects.filter(state=ClockState.RUNNING, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:batch]
    )


def _due_escalations(now, batch):
    return list(
        Clock.objects.filter(
            state=ClockState.BREACHED,
            escalated_at__isnull=True,
            resolved_at__isnull=True,
            escalation_due_at__lte=now,
        )
        .order_by("escalation_due_at")
        .values_list("pk", flat=True)[:batch]
    )


_crash_after = int(os.environ.get("SLA_SCAN_CRASH_AFTER", "0") or 0)  # fault injection (tests)
_handled = 0


# Clocks handled per transaction: one commit per clock was most of a big scan's
# time. Each clock still runs in its own savepoint, so one that fails is rolled
# back alone, logged and left for the next scan.
COMMIT_EVERY = 50


def _each(ids, handle, now) -> int:
    global _handled
    done = 0
    # Fault injection kills the process right after a commit: commit each clock.
    step = 1 if _crash_after else COMMIT_EVERY
    for start in range(0, len(ids), step):
        with transaction.atomic():
            for pk in ids[start : start + step]:
                try:
                    with transaction.atomic():
                        if handle(pk, now):
                            done += 1
                except Exception:
                    log.exception("SLA scan: clock %s failed; the next scan tries again", pk)
                    continue
        _handled += step
        if _crash_after and _handled >= _crash_after:
            os._exit(137)  # as if SIGKILLed mid-scan, after a commit
    return done


def _lock_lead_first(pk: int) -> None:
    """Lock the clock's lead before the clock: the order every lead transition uses
    (lead row, then its clocks through the listener). The other order deadlocks
    with a rep acting on the lead at the moment the scan reaches it."""
    lead_of_clock = Clock.objects.filter(pk=pk).values("lead_id")
    list(Lead.objects.select_for_update().filter(pk__in=lead_of_clock).values_list("pk"))


def _lead_url(lead_id: int) -> str:
    return reverse("leads:detail", args=[lead_id])


def _warn(pk: int, now: datetime) -> bool:
    _lock_lead_first(pk)
    claimed = Clock.objects.filter(
        pk=pk, state=ClockState.RUNNING, warned_at__isnull=True, warn_at__lte=now
    ).update(warned_at=now)
    if not claimed:
        return False
    c = Clock.objects.select_related("lead", "owner").get(pk=pk)
    ClockEvent.objects.create(
        clock=c,
        lead_id=c.lead_id,
        kind=ClockEventKind.WARNED,
        occurred_at=c.warn_at,
        recorded_at=now,
        data={"due_at": c.due_at.isoformat()},
    )
    notify(
        recipients=[c.owner],
        key=f"clock:{c.pk}:warning",
        kind="sla_warning",
        title=f"{c.get_kind_display()} due soon: {c.lead}",
        body=f"Due {c.due_at:%a %d %b %H:%M} UTC.",
        url=_lead_url(c.lead_id),
        now=now,
        queue_delivery=False,
    )
    return True


def _breach(pk: int, now: datetime) -> bool:
    _lock_lead_first(pk)
    c = Clock.objects.select_related(
        "lead", "owner", "agreement", "team__manager", "team__business_calendar"
    ).get(pk=pk)
    if c.state != ClockState.RUNNING or c.due_at > now:
        return False
    spec = selectors.calendar_for_team(c.team) if c.team_id else selectors.default_spec("UTC")
    escalation_due = add_business_time(spec, c.due_at, hours(c.agreement.escalation_hours))
    claimed = Clock.objects.filter(pk=pk, state=ClockState.RUNNING, due_at=c.due_at).update(
        state=ClockState.BREACHED, breached_at=c.due_at, escalation_due_at=escalation_due
    )
    if not claimed:
        return False
    ClockEvent.objects.create(
        clock=c,
        lead_id=c.lead_id,
        kind=ClockEventKind.BREACHED,
        occurred_at=c.due_at,
        recorded_at=now,
        data={"noticed_late_by_seconds": int((now - c.due_at).total_seconds())},
    )
    sync_leads([c.lead_id])
    manager = c.team.manager if c.team_id else None
    notify(
        recipients=[c.owner, manager],
        key=f"clock:{c.pk}:breached",
        kind="sla_breached",
        title=f"Breached: {c.get_kind_display().lower()} for {c.lead}",
        body=f"Due {c.due_at:%a %d %b %H:%M} UTC; held by {c.owner}. It goes to the arbiter "
        f"at {escalation_due:%a %d %b %H:%M} UTC unless it is acted on.",
        url=_lead_url(c.lead_id),
        now=now,
        queue_delivery=False,
    )
    return True


def _escalate(pk: int, now: datetime) -> bool:
    _lock_lead_first(pk)
    claimed = Clock.objects.filter(
        pk=pk, state=ClockState.BREACHED, escalated_at__isnull=True, resolved_at__isnull=True
    ).update(escalated_at=now)
    if not claimed:
        return False
    c = Clock.objects.select_related("lead", "owner").get(pk=pk)
    # Opened when the escalation fell due, as its event says, not when this scan
    # noticed it (after an outage, or the demo's first scan, that is days later).
    opened_at = min(c.escalation_due_at or now, now)
    case, _ = ArbiterCase.objects.get_or_create(
        clock=c,
        defaults={"kind": CaseKind.ESCALATION, "lead_id": c.lead_id, "opened_at": opened_at},
    )
    ClockEvent.objects.create(
        clock=c,
        lead_id=c.lead_id,
        kind=ClockEventKind.ESCALATED,
        occurred_at=c.escalation_due_at or now,
        recorded_at=now,
        data={"case": case.pk},
    )
    arbiters = User.objects.filter(
        Q(groups__name=ROLE_NAMES[Role.ARBITER]), is_active=True
    ).distinct()
    notify(
        recipients=list(arbiters),
        key=f"clock:{c.pk}:escalated",
        kind="escalated",
        title=f"Escalated to you: {c.lead}",
        body=f"{c.get_kind_display()} breached at {c.breached_at:%a %d %b %H:%M} UTC by "
        f"{c.owner} and still not resolved.",
        url=reverse("sla:case_detail", args=[case.pk]),
        now=now,
        queue_delivery=False,
    )
    return True
