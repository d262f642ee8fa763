"""Marketing's monthly commitment: delivered, accepted, rejected by reason, pacing, final."""

import datetime as dt

import pytest
import time_machine

from alignment import clock
from leads import services as lead_services
from sla.commitment import compute_all, compute_month
from sla.models import CommitmentResult
from tests.sla.engine import MONDAY_10_NY, hand_off

pytestmark = pytest.mark.django_db


def test_the_month_counts_what_was_delivered_accepted_and_rejected(
    org, agreement, territories, at_monday
):
    leads = [hand_off(org, f"M-{n}") for n in range(5)]
    for lead in leads[:3]:
        lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    lead_services.lead_reject(lead=leads[3], by=leads[3].owner, reason="no_budget", now=clock.now())
    team = org["sam"].team
    result = compute_month(team=team, month=MONDAY_10_NY.date(), now=clock.now())
    assert (result.delivered, result.accepted, result.rejected) == (5, 3, 1)
    assert result.rejected_by_reason == {"no_budget": 1}
    assert str(result.acceptance_rate) == "75.0"
    assert (result.target_mqls, result.target_rate) == (20, 70)
    assert result.is_final is False
    # Monday 16 November 2026 is the 11th of 21 working days (Mon-Fri): 20 * 11/21 = 10.5.
    assert result.expected_to_date == 10
    assert result.pacing == "at_risk"  # 5 delivered, well behind 10


def test_after_the_month_the_result_is_final_and_missed_or_met(
    org, agreement, territories, at_monday
):
    for n in range(3):
        lead = hand_off(org, f"F-{n}")
        lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    with time_machine.travel(dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC), tick=False):
        results = compute_all()
    november = next(
        r for r in results if r.month == dt.date(2026, 11, 1) and r.team == org["sam"].team
    )
    assert november.is_final
    assert november.pacing == "missed"  # 3 of 20
    again = compute_all(now=dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC))
    assert CommitmentResult.objects.filter(month=dt.date(2026, 11, 1)).count() == 2
    assert not any(r.month == dt.date(2026, 11, 1) for r in again)  # final: left alone
