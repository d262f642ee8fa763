"""Rows for dashboard tests, written directly: the figures are read, not played.

The clock engine fills Clock, ClockEvent, ArbiterCase and CommitmentResult in
production; here each test states exactly the rows whose figures it checks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import factory

from glossary.models import DefinitionVersion, FunnelStage
from leads.machine import Stage
from leads.models import Campaign, Lead
from sla import rollups
from sla.models import (
    Agreement,
    ArbiterCase,
    Clock,
    ClockEvent,
    ClockEventKind,
    ClockKind,
    ClockState,
    CommitmentResult,
    SalesGoal,
)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    cost = Decimal("1000")


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    source = "web"
    external_id = factory.Sequence(lambda n: f"x{n}")
    first_name = factory.Sequence(lambda n: f"Lead{n}")
    stage = Stage.MQL
    created_at = factory.LazyFunction(lambda: datetime.fromisoformat("2025-03-01T00:00:00+00:00"))
    updated_at = factory.LazyAttribute(lambda o: o.created_at)


def version(number: int, by) -> DefinitionVersion:
    stage, _ = FunnelStage.objects.get_or_create(
        key="mql", defaults={"name": "MQL", "side": "marketing", "is_qualifying": True}
    )
    now = datetime.fromisoformat("2025-01-01T00:00:00+00:00")
    found = DefinitionVersion.objects.filter(stage=stage, number=number).first()
    return found or DefinitionVersion.objects.create(
        stage=stage, number=number, created_by=by, created_at=now, updated_at=now
    )


def agreement(by) -> Agreement:
    now = datetime.fromisoformat("2025-01-01T00:00:00+00:00")
    found = Agreement.objects.filter(number=1).first()
    if found:
        return found
    found = Agreement.objects.create(number=1, created_by=by, created_at=now, updated_at=now)
    SalesGoal.objects.create(
        agreement=found,
        position=1,
        label="Hot leads",
        min_score=80,
        accept_hours=2,
        first_touch_hours=4,
    )
    SalesGoal.objects.create(
        agreement=found, position=2, label="Everyone else", accept_hours=8, first_touch_hours=16
    )
    return found


def goal(label: str, by) -> SalesGoal:
    return SalesGoal.objects.get(agreement=agreement(by), label=label)


def make_clock(
    *,
    lead: Lead,
    by,
    kind: str = ClockKind.ACCEPT,
    started_at: datetime,
    due_in: timedelta = timedelta(hours=8),
    met_at: datetime | None = None,
    breached: bool = False,
    resolved_at: datetime | None = None,
    goal_label: str = "Everyone else",
    escalated: bool = False,
) -> Clock:
    """A clock in the state its times say, with the events the engine would write."""
    due_at = started_at + due_in
    state = ClockState.RUNNING
    if breached:
        state = ClockState.BREACHED
    elif met_at is not None:
        state = ClockState.MET
    clock = Clock.objects.create(
        lead=lead,
        kind=kind,
        state=state,
        agreement=agreement(by),
        goal=goal(goal_label, by),
        owner=lead.owner,
        team=lead.team,
        hours=8,
        started_at=started_at,
        warn_at=started_at + due_in * 0.75,
        due_at=due_at,
        met_at=met_at if not breached else None,
        breached_at=due_at if breached else None,
        resolved_at=resolved_at,
        escalated_at=due_at + timedelta(hours=4) if escalated else None,
    )
    events = [(ClockEventKind.STARTED, started_at)]
    if breached:
        events.append((ClockEventKind.BREACHED, due_at))
        if resolved_at:
            events.append((ClockEventKind.MET_LATE, resolved_at))
    elif met_at is not None:
        events.append((ClockEventKind.MET, met_at))
    written = [
        ClockEvent.objects.create(
            clock=clock, lead=lead, kind=event_kind, occurred_at=at, recorded_at=at
        )
        for event_kind, at in events
    ]
    rollups.record_met(written)
    rollups.record_breach_events(written)
    return clock


def case(*, lead, kind="dispute", opened_at, decision="", against="", decided_at=None, **kw):
    """A case of the lead's team, counted in the day rollup as the engine counts it."""
    made = ArbiterCase.objects.create(
        kind=kind,
        lead=lead,
        team_id=lead.team_id,
        opened_at=opened_at,
        decision=decision,
        against_side=against,
        decided_at=decided_at,
        **kw,
    )
    rollups.record_cases_opened([(opened_at, lead.team_id, kind)])
    if decided_at is not None:
        rollups.record_case_decided(
            opened_at=opened_at,
            team_id=lead.team_id,
            kind=kind,
            decided_at=decided_at,
            decision=decision,
            against_side=against,
        )
    return made


def commitment(*, team, month, **kw) -> CommitmentResult:
    kw.setdefault("computed_at", datetime.fromisoformat("2025-03-15T00:00:00+00:00"))
    return CommitmentResult.objects.create(team=team, month=month, **kw)
