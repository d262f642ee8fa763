"""Open breaches now are counted per team, rep and kind by PostgreSQL's triggers on
the clocks, in the transaction of every write: the scan's breaches, a breach resolved
by acting on the lead, a lead reassigned, a clock moved or deleted by hand. The
breaches and open panels read those counts."""

import datetime as dt

import pytest
from django.db.models import Count

from alignment import clock
from leads import services as lead_services
from leads.report_filters import ReportFilters
from sla import dashboard
from sla.models import ArbiterCase, Clock, ClockEvent, OpenBreachCount
from sla.scan import scan
from tests.sla.engine import hand_off_many

pytestmark = pytest.mark.django_db


def _kept() -> dict[tuple, int]:
    return {(r.team_id, r.owner_id, r.kind): r.n for r in OpenBreachCount.objects.all() if r.n}


def _open_clocks() -> dict[tuple, int]:
    rows = (
        Clock.objects.filter(state="breached", resolved_at__isnull=True)
        .values("team_id", "owner_id", "kind")
        .annotate(n=Count("*"))
    )
    return {(r["team_id"] or 0, r["owner_id"] or 0, r["kind"]): r["n"] for r in rows}


@pytest.fixture
def breached(org, agreement, territories, at_monday):
    leads = hand_off_many(org, "OB", 4)
    at_monday.shift(dt.timedelta(days=1))
    assert scan().breached == 4
    return leads


def test_the_scans_breaches_are_counted_per_team_rep_and_kind(breached):
    kept = _kept()
    assert sum(kept.values()) == 4
    assert kept == _open_clocks()
    assert {kind for _, _, kind in kept} == {"accept"}


def test_a_breach_resolved_by_accepting_the_lead_is_no_longer_open(breached):
    lead = breached[0]
    lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    assert sum(_kept().values()) == 3
    assert _kept() == _open_clocks()


def test_a_reassigned_lead_leaves_its_old_reps_count(org, breached):
    lead = breached[0]
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != lead.owner)
    before = _kept().get((lead.team_id, lead.owner_id, "accept"), 0)
    lead_services.lead_reassign(lead=lead, by=org["sam"], to=other, now=clock.now())
    # Reassigning acts on the lead: its breach is resolved, the new rep's clock runs.
    assert _kept().get((lead.team_id, lead.owner_id, "accept"), 0) == before - 1
    assert _kept() == _open_clocks()


def test_a_clock_moved_or_deleted_by_hand_moves_its_count(org, breached):
    lead = breached[0]
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != lead.owner)
    Clock.objects.filter(lead=lead).update(owner=other, team=None)
    assert _kept()[(0, other.pk, "accept")] == 1
    assert _kept() == _open_clocks()
    ArbiterCase.objects.filter(lead=lead).delete()
    ClockEvent.objects.filter(lead=lead).delete()
    Clock.objects.filter(lead=lead).delete()
    assert sum(_kept().values()) == 3
    assert _kept() == _open_clocks()


def test_the_breaches_and_open_panels_read_the_counts_for_team_and_rep(org, breached):
    team = breached[0].team
    rep = breached[0].owner
    day = clock.now().date()
    for rep_id in (None, rep.pk):
        filters = ReportFilters(
            start=day, end=day, team_ids=(team.pk,), team_choice=str(team.pk), rep_id=rep_id
        )
        truth = Clock.objects.filter(team=team, state="breached", resolved_at__isnull=True).filter(
            **({"owner_id": rep_id} if rep_id else {})
        )
        assert dashboard.breaches(filters, [team]).figures["open_breaches"] == truth.count()
        assert dashboard.open_now(filters).figures["open_breaches"] == truth.count()
    by_source = ReportFilters(
        start=day, end=day, team_ids=(team.pk,), team_choice=str(team.pk), source="nowhere"
    )
    assert dashboard.open_now(by_source).figures["open_breaches"] == 0
