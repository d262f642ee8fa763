"""The leads' day rollup is kept by the machine as leads move: after every kind of
move (ingest, hand-off, accept, reject, dispute, recycle, reassign, qualify, convert,
close, an update by ingest), what it holds equals what a rebuild from the leads and
their rejection events finds, and the panels read it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alignment import clock
from leads import ingest, rollups
from leads import services as lead_services
from leads.merge import lead_merge
from leads.models import Lead, LeadDayRollup
from leads.report_filters import ReportFilters
from leads.reports import funnel, handoff_quality, revenue_won, scoring
from leads.validation import clean_lead_input
from tests.leads.conftest import NOT_QUALIFYING, QUALIFYING

pytestmark = pytest.mark.django_db

COUNTS = list(rollups.COUNTS)


def _kept() -> dict[tuple, tuple]:
    """The rollup's rows with anything in them, by key."""
    return {
        tuple(row[k] for k in rollups.KEY): tuple(row[c] for c in COUNTS)
        for row in LeadDayRollup.objects.values(*rollups.KEY, *COUNTS)
        if any(row[c] for c in COUNTS)
    }


def _items(prefix: str, n: int, **overrides) -> list[dict]:
    items = []
    for i in range(n):
        data, errors = clean_lead_input(
            {**QUALIFYING, "external_id": f"{prefix}-{i}", "last_name": str(i), **overrides}
        )
        assert not errors, errors
        items.append(data)
    return items


def _play(org) -> list[Lead]:
    now = clock.now()
    leads = [r.lead for r in ingest.leads_ingest_bulk(items=_items("R", 8), by=org["leo"], now=now)]
    cold, errors = clean_lead_input({**NOT_QUALIFYING, "external_id": "cold"})
    assert not errors
    ingest.lead_ingest(data=cold, by=org["leo"], now=now)
    assert all(lead.owner_id for lead in leads)
    a, b, c, d, e, f, g, h = leads
    for lead in (a, b, c, d, e):
        lead_services.lead_accept(lead=lead, by=lead.owner, now=now)
    lead_services.lead_qualify(lead=b, by=b.owner, now=now)
    for lead in (c, d):
        lead_services.lead_qualify(lead=lead, by=lead.owner, now=now)
        lead_services.lead_convert(lead=lead, by=lead.owner, now=now)
    lead_services.lead_close(lead=c, by=c.owner, outcome="won", amount="2500", now=now)
    lead_services.lead_close(lead=d, by=d.owner, outcome="lost", now=now)
    for lead in (f, g, h):
        lead_services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=now)
    lead_services.lead_dispute(lead=g, by=org["leo"], reason="They have budget", now=now)
    lead_services.lead_recycle(lead=f, by=org["leo"], now=clock.now() + timedelta(days=1))
    other = next(r for r in ("ravi", "carmen", "tom") if org[r].pk != e.owner_id)
    lead_services.lead_reassign(lead=e, by=org["sam"], to=org[other], now=now)
    # The same lead sent again with a new campaign-free detail: an update event.
    ingest.leads_ingest_bulk(items=_items("R", 1, company="Acme Two"), by=org["leo"], now=now)
    return leads


def test_the_rollup_kept_by_the_machine_equals_a_rebuild(org, mql_in_force, territories):
    _play(org)
    kept = _kept()
    assert kept, "the machine kept nothing"

    rollups.rebuild()

    assert _kept() == kept


def test_the_panels_read_what_happened_to_the_leads(org, mql_in_force, territories):
    leads = _play(org)
    team = leads[0].team
    today = clock.now().date()
    filters = ReportFilters(
        start=today - timedelta(days=1), end=today + timedelta(days=1), team_ids=(team.pk,),
        team_choice=str(team.pk),
    )  # fmt: skip
    handed = list(Lead.objects.filter(pk__in=[x.pk for x in leads], team=team))

    counts = funnel(filters).figures
    assert counts["mql"] == len([x for x in handed if x.handed_off_at])
    assert counts["won"] == 1
    assert counts["won_amount"] == Decimal("2500")
    report = handoff_quality(filters)
    assert report.table("rejection_reasons").rows == [["No budget", 3, 100.0, 100.0]]
    disputed = {row[0]: row[2] for row in report.table("came_back").rows}
    assert sum(disputed.values()) == 1
    assert revenue_won(filters)["revenue"] == Decimal("2500")
    assert scoring(filters).figures["versions"] == 1


def test_a_lead_merged_away_leaves_the_panels_and_the_rollup_equals_a_rebuild(
    org, mql_in_force, territories
):
    """Two hand-offs of one person, merged: the funnel counts one lead handed off, as a
    count of the live leads does, and what the machine kept equals a rebuild."""
    now = clock.now()
    first, again = (
        r.lead
        for r in ingest.leads_ingest_bulk(
            items=_items("M", 2, email="same.person@acme.example"), by=org["leo"], now=now
        )
    )
    team = first.team
    today = now.date()
    filters = ReportFilters(
        start=today - timedelta(days=1), end=today + timedelta(days=1), team_ids=(team.pk,),
        team_choice=str(team.pk),
    )  # fmt: skip
    assert funnel(filters).figures["mql"] == 2

    lead_merge(lead=Lead.objects.get(pk=again.pk), into=first.pk, by=org["leo"], now=now)

    assert funnel(filters).figures["mql"] == 1
    kept = _kept()
    rollups.rebuild()
    assert _kept() == kept


def test_a_rep_filter_reads_the_rows_of_that_rep(org, mql_in_force, territories):
    leads = _play(org)
    rep = leads[5].owner  # rejected it
    today = clock.now().date()
    one = ReportFilters(start=today, end=today, rep_id=rep.pk, team_ids=(rep.team_id,))
    mine = Lead.objects.filter(owner=rep, handed_off_at__date=today).count()
    assert funnel(one).figures["mql"] == mine


def test_the_backfill_command_rebuilds_the_rollup(org, mql_in_force, territories):
    _play(org)
    kept = _kept()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {LeadDayRollup._meta.db_table}")  # noqa: S608

    call_command("rollup_leads", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert _kept() == kept


@pytest.mark.parametrize("name", ["funnel", "handoff", "scoring"])
def test_no_leads_panel_writes_on_a_get(client, org, mql_in_force, territories, name):
    _play(org)
    client.force_login(org["sam"])
    url = reverse("leads:report_panel", args=[name])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    verbs = [q["sql"].lstrip().split()[0].upper() for q in queries.captured_queries]
    assert not {"INSERT", "UPDATE", "DELETE"} & set(verbs)
