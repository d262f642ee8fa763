"""The case day rollup is written where arbiter cases open (the scan's escalation step,
a dispute) and are decided (the arbiter, or the lead worked first), equals a rebuild
from the cases, and is what the decisions panel counts."""

import datetime as dt
from collections import Counter
from dataclasses import replace

import pytest

from alignment import clock
from leads import services as lead_services
from leads.report_filters import ReportFilters
from sla import dashboard, rollups
from sla.arbiter import CaseAlreadyDecided, case_decide
from sla.models import ArbiterCase, CaseDayRollup
from sla.scan import scan
from tests.sla.engine import MONDAY_10_NY, hand_off

pytestmark = pytest.mark.django_db


def _kept() -> dict[tuple, tuple[int, int, int]]:
    return {
        (r.day, r.team_id, r.kind, r.decision, r.against_side): (r.opened, r.still_open, r.decided)
        for r in CaseDayRollup.objects.all()
        if (r.opened, r.still_open, r.decided) != (0, 0, 0)
    }


@pytest.fixture
def cases(org, agreement, territories, at_monday):
    """Three escalations and a dispute, through the engine: one escalation reassigned by
    the arbiter, one worked by its rep first, one left open; the dispute upheld."""
    leads = [hand_off(org, f"C-{n}") for n in range(3)]
    disputed = hand_off(org, "C-d")
    lead_services.lead_reject(lead=disputed, by=disputed.owner, reason="no_budget", now=clock.now())
    lead_services.lead_dispute(lead=disputed, by=org["leo"], reason="Budget", now=clock.now())
    at_monday.move_to(MONDAY_10_NY.replace(hour=16))  # breached at 11:00, escalation at 15:00
    assert scan().escalated == 3
    assert scan().escalated == 0  # a second scan opens nothing more, counts nothing more
    at_monday.move_to(MONDAY_10_NY + dt.timedelta(days=1))
    first, worked, _open = (ArbiterCase.objects.get(lead=lead) for lead in leads)
    to = next(org[u] for u in ("ravi", "carmen", "tom") if org[u].pk != first.lead.owner_id)
    case_decide(case=first, by=org["ada"], decision="reassign", reason="Swamped", to=to,
                now=clock.now())  # fmt: skip
    with pytest.raises(CaseAlreadyDecided):
        case_decide(case=first, by=org["ada"], decision="return", reason="Again",
                    now=clock.now())  # fmt: skip
    lead_services.lead_accept(lead=worked.lead, by=worked.lead.owner, now=clock.now())
    dispute = ArbiterCase.objects.get(kind="dispute")
    case_decide(case=dispute, by=org["ada"], decision="uphold", reason="No budget",
                now=clock.now())  # fmt: skip
    return leads[0].team


def test_opening_and_deciding_cases_keeps_the_rollup_equal_to_a_rebuild(cases):
    kept = _kept()
    assert sum(opened for opened, _, _ in kept.values()) == ArbiterCase.objects.count() == 4
    assert sum(still for _, still, _ in kept.values()) == 1
    decided = Counter()
    for (_, _, _, decision, side), (_, _, n) in kept.items():
        decided[(decision, side)] += n
    assert +decided == Counter({("reassign", "sales"): 1, ("worked", ""): 1,
                                ("uphold", "marketing"): 1})  # fmt: skip

    rollups.rebuild_cases()

    assert _kept() == kept


def test_the_decisions_panel_counts_the_rollup_as_the_cases_say(org, cases):
    monday = MONDAY_10_NY.date()
    team = ReportFilters(
        start=monday, end=monday + dt.timedelta(days=1), team_ids=(cases.pk,),
        team_choice=str(cases.pk),
    )  # fmt: skip
    report = dashboard.decisions(team)

    assert report.figures == {
        "escalations": 3, "disputes": 1, "still_open": 1, "decided": 3,
    }  # fmt: skip
    assert report.table("against_side").rows == [
        ["sales", 1, 33.3], ["marketing", 1, 33.3], ["neither", 1, 33.3],
    ]  # fmt: skip
    assert sorted(r[2] for r in report.table("decisions").rows) == [1, 1, 1]
    # The same figures read from the cases and their leads (a source asks for them).
    source = {c.lead.source for c in ArbiterCase.objects.select_related("lead")}
    assert len(source) == 1
    exact = dashboard.decisions(replace(team, source=source.pop()))
    assert exact.figures == report.figures
    assert exact.table("against_side").rows == report.table("against_side").rows
    assert dashboard.decisions(replace(team, team_choice="all")).figures == report.figures
    other = replace(team, team_ids=(cases.pk + 1000,), team_choice=str(cases.pk + 1000))
    assert dashboard.decisions(other).figures["escalations"] == 0
