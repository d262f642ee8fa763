"""Figures about rejections read the rejection events: recycling a lead or overturning
its rejection clears the lead's reason, not the fact that it was rejected, and why."""

import datetime as dt

import pytest

from alignment import clock
from leads import services as lead_services
from leads.machine import Action
from leads.models import Lead
from leads.report_filters import ReportFilters
from leads.reports import handoff_quality
from sla.arbiter import case_decide
from sla.commitment import compute_month
from sla.models import ArbiterCase
from sla.review import agenda_for
from tests.sla.engine import MONDAY_10_NY, hand_off

pytestmark = pytest.mark.django_db


@pytest.fixture
def rejected_then_undone(org, agreement, territories, at_monday):
    """Three rejections in November: one lead recycled since, one overturned by the
    arbiter, one left as it was."""
    leads = [hand_off(org, f"R-{n}") for n in range(3)]
    reasons = ["no_budget", "no_budget", "not_decision_maker"]
    for lead, reason in zip(leads, reasons, strict=True):
        lead_services.lead_reject(lead=lead, by=lead.owner, reason=reason, now=clock.now())
    lead_services.lead_recycle(lead=leads[0], by=org["leo"], now=clock.now())
    lead_services.lead_dispute(lead=leads[2], by=org["leo"], reason="Signs POs", now=clock.now())
    case = ArbiterCase.objects.get(kind="dispute")
    case_decide(case=case, by=org["ada"], decision="overturn", reason="She signs", now=clock.now())
    # What erased the figures before: those two leads have no reason any more.
    undone = Lead.objects.filter(pk__in=[leads[0].pk, leads[2].pk], rejection_reason=None)
    assert undone.count() == 2
    return leads


def _november(org):
    team = org["sam"].team
    return ReportFilters(
        start=dt.date(2026, 11, 1),
        end=dt.date(2026, 11, 30),
        team_ids=(team.pk,),
        team_choice=str(team.pk),
    )


def test_the_pareto_keeps_rejections_whose_lead_was_recycled_or_overturned(
    org, rejected_then_undone
):
    rows = handoff_quality(_november(org)).table("rejection_reasons").rows
    assert rows == [["No budget", 2, 66.7, 66.7], ["Not a decision maker", 1, 33.3, 100.0]]


def test_the_pareto_of_one_rep_counts_the_rejections_that_rep_made(org, rejected_then_undone):
    # The recycled lead has gone to another rep since: its rejection stays its rejecter's.
    rejecter = rejected_then_undone[0].events.get(kind=Action.REJECT).actor
    made = [
        lead
        for lead in rejected_then_undone
        if lead.events.get(kind=Action.REJECT).actor == rejecter
    ]
    filters = ReportFilters(**{**_november(org).__dict__, "rep_id": rejecter.pk})
    rows = handoff_quality(filters).table("rejection_reasons").rows
    assert sum(row[1] for row in rows) == len(made)
    assert "No budget" in [row[0] for row in rows]


def test_the_review_agenda_lists_the_reasons_of_undone_rejections(org, rejected_then_undone):
    sections = agenda_for(_november(org), [org["sam"].team])
    top = next(s for s in sections if s["title"] == "Top rejection reasons")
    assert top["lines"] == [
        "No budget: 2 rejections (66.7%)",
        "Not a decision maker: 1 rejection (33.3%)",
    ]


def test_the_commitment_counts_a_recycled_lead_as_rejected_for_its_reason(
    org, rejected_then_undone
):
    result = compute_month(team=org["sam"].team, month=MONDAY_10_NY.date(), now=clock.now())
    assert result.rejected == 3
    assert result.rejected_by_reason == {"no_budget": 2, "not_decision_maker": 1}
