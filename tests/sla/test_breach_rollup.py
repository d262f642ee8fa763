"""The breach day rollup is written where breaches are recorded (the scan's batch, a
clock stopped past its deadline), equals a rebuild from the clocks, and is what the
breaches and attainment panels count."""

import datetime as dt

import pytest

from alignment import clock
from leads import services as lead_services
from leads.report_filters import ReportFilters
from sla import dashboard, rollups
from sla.models import BreachDayRollup, Clock
from sla.scan import scan
from tests.sla.engine import hand_off, hand_off_many

pytestmark = pytest.mark.django_db


def _kept() -> dict[tuple, int]:
    return {
        (r.day, r.team_id, r.owner_id, r.goal_id, r.kind): r.n
        for r in BreachDayRollup.objects.all()
        if r.n
    }


def test_breaches_the_scan_and_a_late_accept_record_equal_a_rebuild(
    org, agreement, territories, at_monday
):
    hand_off_many(org, "B", 4)
    late = hand_off(org, "B-late")
    at_monday.shift(dt.timedelta(hours=2))
    lead_services.lead_accept(lead=late, by=late.owner, now=clock.now())  # breached on stopping
    assert scan(batch=3).breached == 4
    kept = _kept()
    assert sum(kept.values()) == Clock.objects.filter(breached_at__isnull=False).count() == 5

    rollups.rebuild_breaches()

    assert _kept() == kept


def test_the_breaches_panel_counts_the_rollup_per_rep_and_day(
    org, agreement, territories, at_monday
):
    leads = hand_off_many(org, "P", 3)
    at_monday.shift(dt.timedelta(days=1))
    scan()
    team = leads[0].team
    day = Clock.objects.filter(breached_at__isnull=False).first().breached_at.date()
    filters = ReportFilters(start=day, end=day, team_ids=(team.pk,), team_choice=str(team.pk))

    report = dashboard.breaches(filters, [team])

    breached = Clock.objects.filter(breached_at__date=day, team=team)
    assert report.figures["breaches"] == breached.count()
    assert sum(row[2] for row in report.table("breaches_by_rep").rows) == breached.count()
    attained = dashboard.attainment(filters)
    assert attained.figures["attainment"] == 0.0  # nothing met, every clock breached
