"""Clocks follow the lead: started on hand-off, met on accept or touch, paused when away."""

import datetime as dt
from collections import defaultdict

import pytest
from django.urls import reverse

from alignment import clock
from alignment.services import member_set_away
from leads import ingest
from leads import services as lead_services
from leads.machine import GuardRefused
from leads.models import Lead
from leads.report_filters import ReportFilters
from sla import dashboard, rollups
from sla.models import (
    Clock,
    ClockDayRollup,
    ClockDuration,
    ClockEvent,
    OnTimeDayRollup,
    SpeedDayRollup,
)
from tests.sla.engine import MONDAY_10_NY, NEW_YORK, hand_off

pytestmark = pytest.mark.django_db


def test_a_hand_off_starts_the_accept_clock_in_business_hours(
    org, agreement, territories, at_monday
):
    lead = hand_off(org, "C-1")
    c = Clock.objects.get(lead=lead)
    assert (c.kind, c.state, c.goal.label) == ("accept", "running", "Hot")  # score 90 >= 85
    assert c.due_at == MONDAY_10_NY + dt.timedelta(hours=1)
    assert c.warn_at == MONDAY_10_NY + dt.timedelta(minutes=45)
    lead.refresh_from_db()
    assert lead.action_due_at == c.due_at


def test_eight_business_hours_from_monday_afternoon_end_on_tuesday(
    org, agreement, territories, at_monday
):
    at_monday.move_to(MONDAY_10_NY.replace(hour=15))
    lead = hand_off(org, "C-2", title="Analyst")  # 50 points: everyone else, 8 h
    c = Clock.objects.get(lead=lead)
    assert c.goal.label == "Everyone else"
    assert c.due_at.astimezone(NEW_YORK) == dt.datetime(2026, 11, 17, 15, 0, tzinfo=NEW_YORK)


def test_accepting_meets_the_accept_clock_and_starts_the_first_touch_clock(
    org, agreement, territories, at_monday
):
    lead = hand_off(org, "C-3")
    at_monday.shift(dt.timedelta(minutes=20))
    lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    accept = Clock.objects.get(lead=lead, kind="accept")
    touch = Clock.objects.get(lead=lead, kind="first_touch")
    assert accept.state == "met"
    assert accept.met_at == MONDAY_10_NY + dt.timedelta(minutes=20)
    assert touch.state == "running"
    assert touch.due_at == MONDAY_10_NY + dt.timedelta(minutes=20, hours=2)
    lead_services.lead_log_touch(
        lead=lead, by=lead.owner, kind="call", outcome="connected", now=clock.now()
    )
    touch.refresh_from_db()
    assert touch.state == "met"
    lead.refresh_from_db()
    # The next attempt is due now: 3 attempts over 2 business days, one a day.
    follow_up = Clock.objects.get(lead=lead, kind="follow_up")
    assert lead.action_due_at == follow_up.due_at
    assert follow_up.due_at == MONDAY_10_NY + dt.timedelta(days=1, minutes=20)


def test_a_clock_met_is_counted_in_the_dashboards_rollup_as_it_is_met(
    org, agreement, territories, at_monday
):
    lead = hand_off(org, "C-3")
    at_monday.shift(dt.timedelta(minutes=20))
    lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())

    duration = ClockDuration.objects.get()
    assert (duration.kind, duration.on_time, duration.business_seconds) == ("accept", True, 1200)
    day = ClockDayRollup.objects.get()
    today = clock.now().date()
    assert (day.day, day.owner_id, day.on_time, day.n) == (today, lead.owner_id, True, 1)
    assert day.bucket == rollups.bucket_of(1200)


def _accepted_on_time_and_late(org, at_monday, prefix: str, *, on_time: int, late: int):
    leads = [hand_off(org, f"{prefix}{n}") for n in range(on_time + late)]
    at_monday.shift(dt.timedelta(minutes=20))
    for lead in leads[:on_time]:
        lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    at_monday.shift(dt.timedelta(days=1, hours=1))  # past the 8 business hours: met late
    for lead in leads[on_time:]:
        lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    return leads


def _speed_kept() -> dict[tuple, int]:
    return {
        (r.day, r.team_id, r.kind, r.owner_id, r.bucket): r.n
        for r in SpeedDayRollup.objects.all()
        if r.n
    }


def test_the_speed_rollup_is_the_day_rollup_summed_over_goal_and_on_time(
    org, agreement, territories, at_monday
):
    _accepted_on_time_and_late(org, at_monday, "C-s", on_time=2, late=2)

    summed: dict[tuple, int] = defaultdict(int)
    for r in ClockDayRollup.objects.all():
        summed[(r.day, r.team_id, r.kind, r.owner_id, r.bucket)] += r.n
    assert {r.on_time for r in ClockDayRollup.objects.all()} == {True, False}
    assert _speed_kept() == dict(summed)
    assert sum(summed.values()) == ClockDuration.objects.count() == 4

    rollups.rebuild()

    assert _speed_kept() == dict(summed)


def _on_time_kept() -> dict[tuple, int]:
    return {
        (r.day, r.team_id, r.owner_id, r.goal_id, r.kind): r.n
        for r in OnTimeDayRollup.objects.all()
        if r.n
    }


def test_the_on_time_rollup_counts_the_clocks_met_on_time_and_the_attainment_panel_reads_it(
    org, agreement, territories, at_monday
):
    leads = _accepted_on_time_and_late(org, at_monday, "C-o", on_time=3, late=2)

    summed: dict[tuple, int] = defaultdict(int)
    for r in ClockDayRollup.objects.filter(on_time=True):
        summed[(r.day, r.team_id, r.owner_id, r.goal_id, r.kind)] += r.n
    assert _on_time_kept() == dict(summed)
    assert sum(summed.values()) == 3
    team = leads[0].team
    day = MONDAY_10_NY.date()
    filters = ReportFilters(
        start=day, end=day + dt.timedelta(days=1), team_ids=(team.pk,), team_choice=str(team.pk)
    )
    # Three met on time; the two met late were breached first (when they stopped).
    assert dashboard.attainment(filters).figures["attainment"] == 60.0

    rollups.rebuild()

    assert _on_time_kept() == dict(summed)


def test_rejecting_stops_the_accept_clock(org, agreement, territories, at_monday):
    lead = hand_off(org, "C-4")
    lead_services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=clock.now())
    assert Clock.objects.get(lead=lead).state == "met"
    assert not Clock.objects.filter(lead=lead, state="running").exists()


def test_reassigning_gives_the_new_owner_a_fresh_deadline(org, agreement, territories, at_monday):
    lead = hand_off(org, "C-5")
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != lead.owner)
    at_monday.shift(dt.timedelta(minutes=30))
    lead_services.lead_reassign(lead=lead, by=org["sam"], to=other, now=clock.now())
    old, new = Clock.objects.filter(lead=lead).order_by("started_at")
    assert old.state == "cancelled"
    assert (new.state, new.owner) == ("running", other)
    assert new.due_at == MONDAY_10_NY + dt.timedelta(minutes=90)


def test_a_rep_marked_away_has_their_clocks_paused_and_resumed_with_the_time_left(
    org, agreement, territories, at_monday
):
    lead = hand_off(org, "C-6")
    rep = lead.owner
    at_monday.shift(dt.timedelta(minutes=15))
    member_set_away(member=rep, away=True, by=org["sam"])
    c = Clock.objects.get(lead=lead)
    assert c.state == "paused"
    assert c.remaining == dt.timedelta(minutes=45)
    at_monday.shift(dt.timedelta(hours=3))
    member_set_away(member=rep, away=False, by=org["sam"])
    c.refresh_from_db()
    assert c.state == "running"
    assert c.due_at == MONDAY_10_NY + dt.timedelta(hours=3, minutes=15 + 45)
    assert ClockEvent.objects.filter(clock=c, kind__in=["paused", "resumed"]).count() == 2


def test_abandoning_before_the_agreed_attempts_is_refused_with_what_is_missing(
    org, agreement, territories, at_monday
):
    lead = hand_off(org, "C-7")
    lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    lead_services.lead_log_touch(
        lead=lead, by=lead.owner, kind="call", outcome="no_answer", now=clock.now()
    )
    with pytest.raises(GuardRefused) as refused:
        lead_services.lead_close(lead=lead, by=lead.owner, outcome="lost", now=clock.now())
    assert "3 attempts (this lead has 1)" in str(refused.value)
    assert Lead.objects.get(pk=lead.pk).stage == "sal"
    for _ in range(2):
        lead_services.lead_log_touch(
            lead=lead, by=lead.owner, kind="email", outcome="no_answer", now=clock.now()
        )
    at_monday.shift(dt.timedelta(days=2))  # Wednesday: two business days later
    lead_services.lead_close(lead=lead, by=lead.owner, outcome="lost", now=clock.now())
    assert Lead.objects.get(pk=lead.pk).stage == "lost"


def test_the_api_answers_409_when_the_abandon_rule_refuses(
    client, org, agreement, territories, at_monday
):
    lead = hand_off(org, "C-8")
    lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    client.force_login(lead.owner)
    response = client.post(
        f"/api/v1/leads/{lead.pk}/close/",
        {"outcome": "no_decision"},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert "attempts" in response.json()["detail"]


def test_a_bulk_of_hand_offs_starts_one_clock_each(
    org, agreement, territories, at_monday, count_queries
):
    from leads.validation import clean_lead_input
    from tests.leads.conftest import QUALIFYING

    items = [clean_lead_input({**QUALIFYING, "external_id": f"BULK-{n}"})[0] for n in range(30)]
    results = ingest.leads_ingest_bulk(items=items, by=org["leo"], now=clock.now())
    ids = [r.lead.pk for r in results]
    assert Clock.objects.filter(lead_id__in=ids, state="running").count() == 30
    assert Lead.objects.filter(pk__in=ids, action_due_at__isnull=True).count() == 0


def test_the_inbox_shows_time_left(client, org, agreement, territories, at_monday):
    lead = hand_off(org, "C-9")
    client.force_login(lead.owner)
    html = client.get(reverse("leads:inbox")).content.decode()
    assert "1 h 0 m left" in html


def test_the_inbox_says_what_is_due_when_in_the_reps_own_time(
    client, org, agreement, territories, at_monday
):
    lead = hand_off(org, "C-10")
    client.force_login(lead.owner)
    # Sales Americas' zone until the rep chooses one: due at 11:00 in New York.
    html = client.get(reverse("leads:inbox")).content.decode()
    assert "Accept by 11:00 (your time) · 1 h 0 m left" in html
    assert f"Score <strong>{lead.score}</strong> (MQL at " in html
    response = client.post(reverse("profile"), {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    html = client.get(reverse("leads:inbox")).content.decode()
    assert "Accept by 17:00 (your time) · 1 h 0 m left" in html


def test_acting_after_the_deadline_before_any_scan_still_records_the_breach_at_its_time(
    org, agreement, territories, at_monday
):
    lead = hand_off(org, "C-10")
    at_monday.shift(dt.timedelta(hours=3))  # no scan ran meanwhile
    lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    accept = Clock.objects.get(lead=lead, kind="accept")
    assert accept.state == "breached"
    assert accept.breached_at == MONDAY_10_NY + dt.timedelta(hours=1)
    assert accept.resolved_at == clock.now()
    assert list(ClockEvent.objects.filter(clock=accept).values_list("kind", flat=True)) == [
        "started",
        "sla_breached",
        "met_late",
    ]


@pytest.mark.django_db(transaction=True)
def test_closing_the_office_moves_the_running_deadlines_of_its_team(
    org, agreement, territories, at_monday
):
    """The calendar hook runs after the edit commits, hence a transactional test."""
    from sla import services as calendar_services

    lead = hand_off(org, "C-11", title="Analyst")  # 8 business hours: due Tuesday 10:00
    c = Clock.objects.get(lead=lead)
    assert c.due_at == MONDAY_10_NY + dt.timedelta(days=1)
    calendar = calendar_services.calendar_create(
        by=org["sam"],
        name="Americas",
        time_zone="America/New_York",
        team=org["sam"].team,
        week=dict.fromkeys(range(5), [(dt.time(9), dt.time(17))]),
    )
    calendar_services.closure_add(
        calendar=calendar,
        by=org["sam"],
        first_day=dt.date(2026, 11, 17),
        last_day=dt.date(2026, 11, 17),
        reason="Team offsite",
    )
    c.refresh_from_db()
    assert c.due_at == MONDAY_10_NY + dt.timedelta(days=2)  # Tuesday closed: Wednesday 10:00
    assert ClockEvent.objects.filter(clock=c, kind="recomputed").exists()
    lead.refresh_from_db()
    assert lead.action_due_at == c.due_at
