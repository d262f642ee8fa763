"""Routing never loses a lead: on real PostgreSQL, with real commits (so the drains
that run after them run), and with real concurrent sessions."""

import random
from collections import Counter

import pytest
from django.db.models import Count, Q

from alignment import clock
from alignment.models import User
from alignment.services import member_set_away, member_set_routing
from leads import ingest
from leads import services as lead_services
from leads.assignment import lead_assign, queue_drain
from leads.models import Lead, LeadEvent
from leads.stages import Action, Stage
from leads.validation import clean_lead_input
from sla.models import Clock, ClockKind, ClockState
from tests.leads.conftest import QUALIFYING
from tests.reliability.test_lead_races import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

OPEN = (ClockState.RUNNING, ClockState.PAUSED)
REPS = ("ravi", "carmen", "tom", "jonas", "amelie", "luca")


def items(prefix: str, count: int, country: str = "United States") -> list[dict]:
    made = []
    for n in range(count):
        data, errors = clean_lead_input(
            {**QUALIFYING, "external_id": f"{prefix}-{n}", "country": country}
        )
        assert not errors, errors
        made.append(data)
    return made


def assert_owned_or_queued() -> None:
    """Every MQL has an owner with an open accept clock (paused only while that owner
    is away), or is queued with a running assignment clock; and no queue holds a lead
    while a rep of its team has room for it."""
    clocks: dict[int, dict[str, str]] = {}
    for lead_id, kind, state in Clock.objects.filter(state__in=OPEN).values_list(
        "lead_id", "kind", "state"
    ):
        clocks.setdefault(lead_id, {})[kind] = state
    for lead in Lead.objects.filter(stage=Stage.MQL).select_related("owner"):
        mine = clocks.get(lead.pk, {})
        if lead.owner_id:
            expected = ClockState.PAUSED if lead.owner.is_away else ClockState.RUNNING
            assert mine == {ClockKind.ACCEPT: expected}, (lead.pk, lead.owner, mine)
        else:
            assert mine == {ClockKind.ASSIGNMENT: ClockState.RUNNING}, (lead.pk, mine)
    room = (
        User.objects.filter(username__in=REPS, is_away=False, routing_weight__gt=0)
        .annotate(new=Count("owned_leads", filter=Q(owned_leads__stage=Stage.MQL)))
        .values_list("username", "team_id", "new", "capacity")
    )
    queued_teams = set(
        Lead.objects.filter(stage=Stage.MQL, owner=None).values_list("team_id", flat=True)
    )
    for username, team_id, new, capacity in room:
        assert not (new < capacity and team_id in queued_teams), f"{username} has room"


def test_every_mql_is_owned_or_queued_after_a_random_mix_of_everything(org, agreement, territories):
    rng = random.Random(10)
    people = {u.username: u for u in User.objects.filter(username__in=[*REPS, "sam", "elena"])}
    User.objects.filter(username__in=REPS).update(capacity=2)
    for step in range(120):
        move = rng.choice(["ingest", "ingest", "accept", "reject", "away", "capacity", "hand"])
        now = clock.now()
        if move == "ingest":
            country = rng.choice(["United States", "Germany"])
            ingest.leads_ingest_bulk(
                items=items(f"S{step}", rng.randint(1, 4), country), by=org["leo"], now=now
            )
        elif move in ("accept", "reject"):
            lead = Lead.objects.filter(stage=Stage.MQL, owner__isnull=False).order_by("?").first()
            if lead is None:
                continue
            if move == "accept":
                lead_services.lead_accept(lead=lead, by=lead.owner, now=now)
            else:
                lead_services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=now)
        elif move == "away":
            rep = people[rng.choice(REPS)]
            rep.refresh_from_db()
            manager = people["sam" if rep.team_id == org["sam"].team_id else "elena"]
            member_set_away(member=rep, away=not rep.is_away, by=manager)
        elif move == "capacity":
            rep = people[rng.choice(REPS)]
            manager = people["sam" if rep.team_id == org["sam"].team_id else "elena"]
            member_set_routing(member=rep, by=manager, capacity=rng.randint(0, 3))
        else:
            lead = Lead.objects.filter(stage=Stage.MQL, owner=None).order_by("?").first()
            if lead is None:
                continue
            rep = (
                User.objects.filter(team_id=lead.team_id, username__in=REPS, is_away=False)
                .order_by("?")
                .first()
            )
            if rep is None:
                continue
            manager = people["sam" if lead.team_id == org["sam"].team_id else "elena"]
            lead_assign(lead=lead, to=rep, by=manager, now=now)
        assert_owned_or_queued()
    kinds = Counter(LeadEvent.objects.values_list("kind", flat=True))
    # The mix did reach every path: queued, drained, handed off, accepted, rejected.
    assert kinds[Action.QUEUE]
    assert kinds[Action.ACCEPT]
    assert kinds[Action.REJECT]
    assert Clock.objects.filter(kind=ClockKind.ASSIGNMENT, state=ClockState.MET).exists()


@pytest.mark.parametrize("attempt", range(2))
def test_two_queue_drains_at_once_give_each_lead_once(org, agreement, territories, attempt):
    User.objects.filter(team=org["sam"].team).update(capacity=0)
    ingest.leads_ingest_bulk(items=items(f"D{attempt}", 30), by=org["leo"], now=clock.now())
    assert Lead.objects.filter(owner=None, stage=Stage.MQL).count() == 30
    User.objects.filter(team=org["sam"].team).update(capacity=8)  # room for 24 of the 30
    outcomes = run_together(queue_drain, queue_drain, queue_drain)
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert sum(given for _, given in outcomes) == 24
    handed = Counter(
        LeadEvent.objects.filter(kind=Action.HAND_OFF).values_list("lead_id", flat=True)
    )
    assert len(handed) == 24
    assert set(handed.values()) == {1}
    held = Counter(Lead.objects.exclude(owner=None).values_list("owner__username", flat=True))
    assert held == {"ravi": 8, "carmen": 8, "tom": 8}
    assert_owned_or_queued()


def test_a_drain_and_ingests_at_once_never_put_a_rep_over_capacity(org, agreement, territories):
    User.objects.filter(team=org["sam"].team).update(capacity=0)
    ingest.leads_ingest_bulk(items=items("PRE", 10), by=org["leo"], now=clock.now())
    User.objects.filter(team=org["sam"].team).update(capacity=5)
    outcomes = run_together(
        queue_drain,
        lambda: ingest.leads_ingest_bulk(items=items("A", 6), by=org["leo"], now=clock.now()),
        lambda: ingest.leads_ingest_bulk(items=items("B", 6), by=org["leo"], now=clock.now()),
    )
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    held = Counter(Lead.objects.exclude(owner=None).values_list("owner__username", flat=True))
    assert held == {"ravi": 5, "carmen": 5, "tom": 5}
    assert Lead.objects.filter(owner=None, stage=Stage.MQL).count() == 22 - 15
    assert_owned_or_queued()
