"""Figures are right: a small known set of leads, clocks and cases, and the exact
medians, percentiles, rates, conversions, AUC and Pareto order each panel shows."""

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from leads.machine import Action, Stage
from leads.models import Dispute, LeadEvent
from leads.report_filters import ReportFilters
from leads.reports import auc, funnel, handoff_quality, scoring
from sla import dashboard, rollups
from sla.models import ClockDuration, ClockKind, RevenueTarget
from tests.dashboards.conftest import at
from tests.dashboards.factories import (
    CampaignFactory,
    LeadFactory,
    case,
    commitment,
    make_clock,
    version,
)
from tests.glossary.factories import ReasonFactory

NY = ZoneInfo("America/New_York")


def handed(team, owner, when="2025-03-10 15:00", **kw):
    return LeadFactory(team=team, owner=owner, handed_off_at=at(when), **kw)


def rejected(lead, by, reason, when):
    LeadEvent.objects.create(
        lead=lead,
        kind=Action.REJECT,
        actor=by,
        occurred_at=at(when),
        from_stage=Stage.MQL,
        to_stage=Stage.NURTURE,
        data={"reason": reason.code, "reason_label": reason.label},
    )


def test_funnel_counts_each_step_and_shows_no_decision_apart(org, americas, march):
    sam_team = {"team": americas, "owner": org["ravi"]}
    for _ in range(2):
        handed(**sam_team, stage=Stage.NURTURE, rejected_at=at("2025-03-11 10:00"))
    handed(**sam_team, stage=Stage.SAL, accepted_at=at("2025-03-11 10:00"))
    handed(
        **sam_team,
        stage=Stage.SQL,
        accepted_at=at("2025-03-11 10:00"),
        qualified_at=at("2025-03-12 10:00"),
    )
    handed(**sam_team, stage=Stage.NO_DECISION, accepted_at=at("2025-03-11 10:00"))
    handed(
        **sam_team,
        stage=Stage.LOST,
        accepted_at=at("2025-03-11 10:00"),
        qualified_at=at("2025-03-12 10:00"),
        converted_at=at("2025-03-13 10:00"),
    )
    for amount in (1000, 3000):
        handed(
            **sam_team,
            stage=Stage.WON,
            accepted_at=at("2025-03-11 10:00"),
            qualified_at=at("2025-03-12 10:00"),
            converted_at=at("2025-03-13 10:00"),
            closed_at=at("2025-03-20 10:00"),
            amount=Decimal(amount),
        )
    handed(**sam_team, when="2025-02-27 10:00")  # before the period: not counted

    report = funnel(march)

    assert report.table("funnel").rows == [
        ["MQL", 8, 100.0, None],
        ["SAL", 6, 75.0, 75.0],
        ["SQL", 4, 50.0, 66.7],
        ["Opportunity", 3, 37.5, 75.0],
        ["Won", 2, 25.0, 66.7],
    ]
    assert report.table("outcomes").rows == [
        ["Won", 2, 50.0],
        ["Lost", 1, 25.0],
        ["No decision", 1, 25.0],
    ]
    assert report.figures["no_decision_rate"] == 25.0
    assert report.figures["win_rate"] == 50.0
    assert report.figures["won_amount"] == Decimal("4000")


def test_funnel_of_one_team_leaves_the_other_team_out(org, americas, emea, march):
    handed(americas, org["ravi"])
    handed(emea, org["jonas"])
    handed(emea, org["jonas"])
    one = ReportFilters(
        start=march.start, end=march.end, team_ids=(emea.pk,), team_choice=str(emea.pk)
    )
    assert funnel(one).figures["mql"] == 2
    assert funnel(march).figures["mql"] == 3


def test_acceptance_rate_by_source_counts_only_decided_leads(org, americas, march):
    for accepted in (True, True, True, False):
        kw = (
            {"accepted_at": at("2025-03-11 10:00")}
            if accepted
            else {"rejected_at": at("2025-03-11 10:00"), "stage": Stage.NURTURE}
        )
        handed(americas, org["ravi"], source="webinar", **kw)
    handed(americas, org["ravi"], source="webinar")  # not decided yet
    handed(
        americas, org["ravi"], source="ads", rejected_at=at("2025-03-11 10:00"), stage=Stage.NURTURE
    )

    report = handoff_quality(march, now=at("2025-04-01 00:00"))

    assert report.table("by_source").rows == [
        ["ads", 1, 0, 1, 0.0],
        ["webinar", 5, 3, 1, 75.0],
    ]
    assert report.figures["acceptance_rate"] == 60.0  # 3 accepted, 2 rejected


def test_rejection_reasons_come_in_pareto_order_with_cumulative_share(org, americas, march):
    reasons = {
        code: ReasonFactory(code=code, label=code.title()) for code in ("spam", "budget", "timing")
    }
    for code, n in (("timing", 1), ("spam", 3), ("budget", 2)):
        for _ in range(n):
            lead = handed(
                americas,
                org["ravi"],
                stage=Stage.NURTURE,
                rejected_at=at("2025-03-11 10:00"),
                rejection_reason=reasons[code],
            )
            rejected(lead, org["ravi"], reasons[code], "2025-03-11 10:00")
    # Rejected in March, recycled since: the lead forgot its reason, the log did not.
    lead = handed(americas, org["carmen"])
    rejected(lead, org["ravi"], reasons["timing"], "2025-03-12 10:00")

    rows = handoff_quality(march, now=at("2025-04-01 00:00")).table("rejection_reasons").rows

    assert rows == [
        ["Spam", 3, 42.9, 42.9],
        ["Budget", 2, 28.6, 71.4],
        ["Timing", 2, 28.6, 100.0],
    ]


def test_came_back_leads_are_counted_by_where_they_are_now(org, americas, march):
    handed(americas, org["ravi"], stage=Stage.NURTURE, rejected_at=at("2025-03-11 10:00"))
    disputed = handed(
        americas, org["ravi"], stage=Stage.NURTURE, rejected_at=at("2025-03-11 10:00")
    )
    Dispute.objects.create(
        lead=disputed, raised_by=org["leo"], reason="fits", created_at=at("2025-03-12 10:00")
    )
    handed(americas, org["ravi"], stage=Stage.DISQUALIFIED, rejected_at=at("2025-03-11 10:00"))

    report = handoff_quality(march, now=at("2025-03-12 12:00"))

    assert report.table("came_back").rows == [
        ["Nurture / recycled", 2, 1],
        ["Disqualified", 1, 0],
    ]
    # Rejected less than two days before "now": not stuck yet.
    assert report.table("stuck").rows == []
    later = handoff_quality(march, now=at("2025-03-20 12:00"))
    assert [r[3] for r in later.table("stuck").rows] == [9, 9]


def test_auc_counts_ties_as_half():
    # Positives 50, 70, 90 against negatives 30, 50, 60: 7.5 of 9 pairs ranked right.
    assert auc({50: 1, 70: 1, 90: 1}, {30: 1, 50: 1, 60: 1}) == round(7.5 / 9, 3)
    assert auc({10: 2}, {90: 2}) == 0.0
    assert auc({10: 1}, {}) is None


def test_scoring_shows_conversion_by_band_and_auc_per_version(org, march):
    v1, v2 = version(1, org["leo"]), version(2, org["leo"])
    for score, stage in (
        (10, Stage.NURTURE),
        (30, Stage.SQL),
        (50, Stage.WON),
        (70, Stage.LOST),
        (90, Stage.WON),
    ):
        LeadFactory(
            score=score,
            definition_version=v2,
            stage=stage,
            created_at=at("2025-03-05 10:00"),
            qualified_at=at("2025-03-06 10:00") if stage != Stage.NURTURE else None,
        )
    LeadFactory(
        score=5,
        definition_version=v1,
        stage=Stage.WON,
        created_at=at("2025-03-05 10:00"),
        is_history=True,
    )
    LeadFactory(
        score=95,
        definition_version=v1,
        stage=Stage.LOST,
        created_at=at("2025-03-05 10:00"),
        is_history=True,
    )

    report = scoring(march)

    assert report.table("ranking").rows == [
        ["v1", 2, 0.0, 0.0],
        # SQL: 4 positives (30, 50, 70, 90) against 1 negative (10): all ranked right.
        # Won: 50 and 90 against 10, 30, 70: 5 of 6 pairs.
        ["v2", 5, 1.0, round(5 / 6, 3)],
    ]
    v2_bands = [r for r in report.table("score_bands").rows if r[0] == "v2"]
    assert v2_bands == [
        ["v2", "0–19", 1, 0, 0.0, 0, 0.0],
        ["v2", "20–39", 1, 1, 100.0, 0, 0.0],
        ["v2", "40–59", 1, 1, 100.0, 1, 100.0],
        ["v2", "60–79", 1, 1, 100.0, 0, 0.0],
        ["v2", "80–99", 1, 1, 100.0, 1, 100.0],
    ]
    assert report.figures["auc_won"] == round(5 / 6, 3)


def test_cost_per_revenue_dollar_divides_campaign_cost_by_its_won_revenue(org, americas, march):
    cheap = CampaignFactory(name="Cheap", cost=Decimal("500"))
    dear = CampaignFactory(name="Dear", cost=Decimal("3000"))
    for campaign, amount in ((cheap, 5000), (dear, 2000), (dear, 4000)):
        handed(
            americas,
            org["ravi"],
            campaign=campaign,
            stage=Stage.WON,
            amount=Decimal(amount),
            closed_at=at("2025-03-20 10:00"),
        )

    rows = funnel(march).table("campaign_cost").rows

    assert rows == [
        ["Dear", Decimal("3000"), Decimal("6000"), 2, Decimal("0.500")],
        ["Cheap", Decimal("500"), Decimal("5000"), 1, Decimal("0.100")],
    ]


def test_revenue_is_counted_against_the_shared_target_with_marketings_share(
    org, americas, emea, march
):
    RevenueTarget.objects.create(
        period_start=date(2025, 1, 1),
        period_end=date(2025, 3, 31),
        amount=Decimal("20000"),
        set_by=org["maya"],
        updated_at=at("2025-01-01 00:00"),
    )
    campaign = CampaignFactory()
    handed(
        americas,
        org["ravi"],
        stage=Stage.WON,
        amount=Decimal("6000"),
        campaign=campaign,
        closed_at=at("2025-02-10 10:00"),
    )
    handed(
        emea,
        org["jonas"],
        stage=Stage.WON,
        amount=Decimal("2000"),
        closed_at=at("2025-03-10 10:00"),
    )

    report = dashboard.revenue(march)

    assert report.figures["revenue"] == Decimal("8000")
    assert report.figures["target_pct"] == 40.0
    assert report.figures["marketing_share"] == 75.0
    assert report.table("revenue_by_team").rows == [
        ["Sales Americas", 1, Decimal("6000"), 30.0],
        ["Sales EMEA", 1, Decimal("2000"), 10.0],
    ]


def _ny(text):
    from datetime import datetime

    return datetime.fromisoformat(text).replace(tzinfo=NY)


def test_time_to_accept_median_and_p90_are_in_business_hours(org, americas, emea, march):
    # Sales Americas has no calendar here: Monday to Friday 09:00-17:00 New York.
    # Taken: 1 h, 2 h, 3 h, 4 h and 16:00 Monday to 10:00 Tuesday = 2 business hours.
    monday = "2025-03-10"
    for start, end in (
        ("10:00", "11:00"),
        ("10:00", "12:00"),
        ("10:00", "13:00"),
        ("10:00", "14:00"),
    ):
        lead = handed(americas, org["ravi"])
        make_clock(
            lead=lead,
            by=org["admin"],
            started_at=_ny(f"{monday} {start}"),
            met_at=_ny(f"{monday} {end}"),
        )
    overnight = handed(americas, org["carmen"])
    make_clock(
        lead=overnight,
        by=org["admin"],
        started_at=_ny(f"{monday} 16:00"),
        met_at=_ny("2025-03-11 10:00"),
    )

    # Kept as the clocks were met: nothing is left for the catch-up.
    assert ClockDuration.objects.count() == 5
    assert rollups.catch_up() == 0
    report = dashboard.speed(march, [americas, emea])

    assert report.figures["accept_median_hours"] == 2.0
    # Sorted 1, 2, 2, 3, 4: the 90th percentile lies 0.6 of the way from 3 to 4.
    assert report.figures["accept_p90_hours"] == 3.6
    rows = {(r[0], r[1]): r[2:] for r in report.table("speed").rows}
    assert rows[("Accept or reject", "Sales Americas")] == [5, 2.0, 3.6]
    assert rows[("Accept or reject", "Ravi Shah")] == [4, 2.5, 3.7]
    assert rows[("Accept or reject", "Carmen Lopez")] == [1, 2.0, 2.0]
    histogram = report.table("speed_distribution").rows
    assert [r[1] for r in histogram] == [0, 1, 3, 1, 0, 0, 0]


def test_attainment_compares_share_on_time_with_the_last_period(org, americas, march):
    lead = handed(americas, org["ravi"])
    # March: 3 met on time, 1 breached. February: 1 met on time, 1 breached.
    for day in (3, 4, 5):
        make_clock(
            lead=lead,
            by=org["admin"],
            started_at=at(f"2025-03-{day:02} 14:00"),
            met_at=at(f"2025-03-{day:02} 15:00"),
        )
    make_clock(
        lead=lead,
        by=org["admin"],
        started_at=at("2025-03-06 14:00"),
        due_in=timedelta(hours=2),
        breached=True,
        resolved_at=at("2025-03-07 15:00"),
    )
    make_clock(
        lead=lead, by=org["admin"], started_at=at("2025-02-10 14:00"), met_at=at("2025-02-10 15:00")
    )
    make_clock(
        lead=lead,
        by=org["admin"],
        kind=ClockKind.ACCEPT,
        started_at=at("2025-02-11 14:00"),
        due_in=timedelta(hours=2),
        breached=True,
    )
    report = dashboard.attainment(march)

    assert report.table("attainment").rows == [
        ["Everyone else", "Accept or reject", 3, 1, 75.0, 50.0, 25.0]
    ]
    # The late one was met late: kept, but not on time.
    assert ClockDuration.objects.filter(on_time=False).count() == 1


def test_breaches_are_counted_per_day_per_team_and_per_rep(org, americas, emea, march):
    ravi_lead = handed(americas, org["ravi"])
    jonas_lead = handed(emea, org["jonas"])
    make_clock(lead=ravi_lead, by=org["admin"], started_at=at("2025-03-03 10:00"), breached=True)
    make_clock(
        lead=ravi_lead,
        by=org["admin"],
        kind=ClockKind.FIRST_TOUCH,
        started_at=at("2025-03-03 11:00"),
        breached=True,
        resolved_at=at("2025-03-04 10:00"),
    )
    make_clock(lead=jonas_lead, by=org["admin"], started_at=at("2025-03-05 10:00"), breached=True)

    report = dashboard.breaches(march, [americas, emea])

    days = {r[0]: r[1:] for r in report.table("breaches_over_time").rows}
    assert len(days) == 31
    assert days[date(2025, 3, 3)] == [2, 0, 2]
    assert days[date(2025, 3, 5)] == [0, 1, 1]
    assert report.table("breaches_by_rep").rows == [
        ["Ravi Shah", "Sales Americas", 2, 1, 1],
        ["Jonas Weber", "Sales EMEA", 1, 1, 0],
    ]
    assert report.figures == {"breaches": 3, "open_breaches": 2, "weekly": False}


def test_open_breaches_and_stale_leads_are_listed_oldest_first(org, americas, march):
    newer = handed(americas, org["ravi"], first_name="Newer", stale_since=at("2025-03-20 10:00"))
    older = handed(americas, org["carmen"], first_name="Older", stale_since=at("2025-03-02 10:00"))
    make_clock(lead=newer, by=org["admin"], started_at=at("2025-03-19 10:00"), breached=True)
    make_clock(lead=older, by=org["admin"], started_at=at("2025-03-01 10:00"), breached=True)

    report = dashboard.open_now(march, now=at("2025-03-22 10:00"))

    assert [r[0] for r in report.table("open_breaches").rows] == ["Older", "Newer"]
    assert [(r[0], r[5]) for r in report.table("stale_leads").rows] == [("Older", 20), ("Newer", 2)]
    assert report.figures == {"open_breaches": 2, "stale_leads": 2}


def test_decisions_say_which_side_they_went_against(org, americas, march):
    lead = handed(americas, org["ravi"])
    for n, (decision, against) in enumerate(
        (("overturn", "sales"), ("overturn", "sales"), ("uphold", "marketing"))
    ):
        dispute = Dispute.objects.create(
            lead=lead,
            raised_by=org["leo"],
            reason="r",
            created_at=at("2025-03-02 10:00"),
            status="overturned",
        )
        case(
            lead=lead,
            dispute=dispute,
            opened_at=at(f"2025-03-0{n + 2} 10:00"),
            decision=decision,
            against=against,
            decided_at=at(f"2025-03-0{n + 3} 10:00"),
        )
    clock = make_clock(
        lead=lead, by=org["admin"], started_at=at("2025-03-10 10:00"), breached=True, escalated=True
    )
    case(lead=lead, kind="escalation", clock=clock, opened_at=at("2025-03-11 10:00"))

    report = dashboard.decisions(march)

    assert report.table("against_side").rows == [
        ["sales", 2, 66.7],
        ["marketing", 1, 33.3],
        ["neither", 0, 0.0],
    ]
    assert report.figures["escalations"] == 1
    assert report.figures["disputes"] == 3
    assert report.figures["still_open"] == 1


def test_commitment_shows_delivered_against_committed_with_pacing(org, americas, emea, march):
    commitment(
        team=americas,
        month=date(2025, 3, 1),
        target_mqls=100,
        delivered=40,
        expected_to_date=50,
        accepted=30,
        rejected=10,
        acceptance_rate=Decimal("75.0"),
        target_rate=70,
        pacing="at_risk",
    )
    commitment(team=emea, month=date(2025, 3, 1), target_mqls=50, delivered=30, pacing="on_track")

    report = dashboard.commitment(march)

    assert report.figures["delivered_pct"] == 46.7
    assert report.figures["at_risk"] == 1
    assert report.table("commitment").rows[0][:5] == ["2025-03", "Sales Americas", 100, 50, 40]
    assert report.table("commitment").rows[0][-1] == "At risk (so far)"
