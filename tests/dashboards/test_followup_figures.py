"""Follow-up attainment per team and rep, and the agreed pauses that held clocks, so that
pausing cannot quietly game the agreement."""

from datetime import timedelta

import time_machine
from django.urls import reverse

from leads.machine import Stage
from sla import dashboard
from sla.models import Pause, PauseCondition
from tests.dashboards.conftest import at
from tests.dashboards.factories import LeadFactory, agreement, make_clock

NOW = "2025-03-31 12:00"
QUERY = "?start=2025-03-01&end=2025-03-31&team=all"


def worked(team, owner, **kw):
    return LeadFactory(
        team=team, owner=owner, stage=Stage.SAL, accepted_at=at("2025-03-03 10:00"), **kw
    )


def follow_ups(lead, by, *, on_time: int, breached: int, month: str = "2025-03"):
    for n in range(on_time):
        start = at(f"{month}-1{n} 10:00")
        make_clock(lead=lead, by=by, kind="follow_up", started_at=start, met_at=start + HOUR)
    for n in range(breached):
        make_clock(
            lead=lead, by=by, kind="follow_up", started_at=at(f"{month}-2{n} 10:00"), breached=True
        )


HOUR = timedelta(hours=1)


def paused(lead, by, *, started: str, ended: str | None = None, held_hours: int = 0):
    condition, _ = PauseCondition.objects.get_or_create(
        agreement=agreement(by),
        position=0,
        defaults={"label": "Waiting on the prospect", "max_days": 5},
    )
    return Pause.objects.create(
        lead=lead,
        condition=condition,
        reason=condition.label,
        note="Back after the trade fair.",
        owner=lead.owner,
        team=lead.team,
        set_by=lead.owner,
        started_at=at(started),
        ends_at=at(started) + timedelta(days=7),
        ended_at=at(ended) if ended else None,
        end_reason="touch" if ended else "",
        held_seconds=held_hours * 3600 if ended else None,
    )


def test_follow_up_attainment_per_team_and_rep_against_the_last_period(org, americas, emea, march):
    admin = org["admin"]
    follow_ups(worked(americas, org["ravi"]), admin, on_time=3, breached=1)
    follow_ups(worked(americas, org["carmen"]), admin, on_time=1, breached=1)
    follow_ups(worked(americas, org["carmen"]), admin, on_time=2, breached=0, month="2025-02")
    follow_ups(worked(emea, org["jonas"]), admin, on_time=0, breached=2)
    with time_machine.travel(at(NOW), tick=False):
        report = dashboard.followup(march, [americas, emea])
    rows = {(r[0], r[1]): r[2:] for r in report.table("followup_attainment").rows}
    assert rows[("Whole team", "Sales Americas")] == [4, 2, 66.7, 100.0, -33.3]
    assert rows[("Ravi Shah", "Sales Americas")][:3] == [3, 1, 75.0]
    assert rows[("Carmen Lopez", "Sales Americas")] == [1, 1, 50.0, 100.0, -50.0]
    assert rows[("Whole team", "Sales EMEA")][:3] == [0, 2, 0.0]
    assert report.figures["followup_attainment"] == 50.0  # 4 of 8 on time


def test_pauses_count_with_the_time_they_held_even_the_open_ones(org, americas, emea, march):
    ravi = worked(americas, org["ravi"])
    paused(ravi, org["admin"], started="2025-03-10 14:00", ended="2025-03-12 14:00", held_hours=16)
    still = paused(worked(americas, org["ravi"]), org["admin"], started="2025-03-28 14:00")
    paused(
        worked(americas, org["carmen"]),
        org["admin"],
        started="2025-02-10 14:00",
        ended="2025-02-11 14:00",
        held_hours=8,
    )  # last month: not this period's
    with time_machine.travel(at(NOW), tick=False):
        report = dashboard.followup(march, [americas, emea])
    assert report.table("pauses").rows == [["Ravi Shah", "Sales Americas", 2, 16.0, 1]]
    # The open one has held 7 business hours so far: Friday 28 March 10:00-17:00 in New
    # York, and nothing yet of Monday (08:00 there now).
    assert report.figures["pauses"] == 2
    assert report.figures["paused_hours"] == 16.0 + 7.0
    assert report.figures["paused_now"] == 1
    (now_row,) = report.table("paused_now").rows
    assert now_row[:5] == [
        str(still.lead),
        "Ravi Shah",
        "Sales Americas",
        "Waiting on the prospect",
        "Back after the trade fair.",
    ]


def test_the_follow_up_panel_costs_the_same_queries_with_more_pauses(
    client, org, americas, count_queries
):
    client.force_login(org["sam"])
    url = reverse("sla:panel", args=["followup"]) + QUERY
    lead = worked(americas, org["ravi"])
    follow_ups(lead, org["admin"], on_time=1, breached=1)
    paused(lead, org["admin"], started="2025-03-20 14:00")
    with time_machine.travel(at(NOW), tick=False):
        client.get(url, HTTP_HX_REQUEST="true")
        few = count_queries(lambda: client.get(url, HTTP_HX_REQUEST="true"))
        for rep in ("ravi", "carmen", "tom"):
            more = worked(americas, org[rep])
            follow_ups(more, org["admin"], on_time=2, breached=1)
            paused(more, org["admin"], started="2025-03-21 14:00")
        client.get(url, HTTP_HX_REQUEST="true")
        response = client.get(url, HTTP_HX_REQUEST="true")
        assert count_queries(lambda: client.get(url, HTTP_HX_REQUEST="true")) == few
    assert "Waiting on the prospect" in response.content.decode()
