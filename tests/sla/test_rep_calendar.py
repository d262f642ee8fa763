"""Clocks follow the agreement's choice: the team's calendar, or the rep's own hours.

Sales Americas' reps work 09:00-17:00 New York time; the team's calendar is London's
09:00-17:00. A lead handed to a rep at 16:00 New York time (21:00 in London) with two
hours to accept it is due at 10:00 the next morning New York time under "rep", and at
11:00 London time (06:00 in New York) under "team", as before.
"""

import datetime as dt

import pytest
import time_machine

from alignment import clock, working_hours
from alignment.models import User
from alignment.services import member_set_away, user_set_time_zone
from leads import ingest
from leads import services as lead_services
from leads.validation import clean_lead_input
from sla import pauses
from sla import services as calendar_services
from sla.models import Clock, ClockEvent, ClockKind
from sla.scan import scan
from tests.leads.conftest import QUALIFYING
from tests.sla.engine import ATTEMPTS, NEW_YORK, hand_off, hand_off_many, in_force

pytestmark = pytest.mark.django_db

MONDAY_16_NY = dt.datetime(2026, 11, 16, 16, 0, tzinfo=NEW_YORK)
TUESDAY = dt.date(2026, 11, 17)
NINE_TO_FIVE = {day: ["09:00", "17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
GOAL = {"label": "Everyone", "accept_hours": 2, "first_touch_hours": 4} | ATTEMPTS


@pytest.fixture
def london_team(org, territories):
    """Sales Americas runs on a London calendar; its reps keep New York hours."""
    team = org["sam"].team
    calendar = calendar_services.calendar_create(
        by=org["sam"],
        name="London office",
        time_zone="Europe/London",
        team=team,
        week=dict.fromkeys(range(5), [(dt.time(9), dt.time(17))]),
    )
    User.objects.filter(team=team).update(time_zone="America/New_York", working_hours=NINE_TO_FIVE)
    return calendar


@pytest.fixture
def at_monday_4pm():
    with time_machine.travel(MONDAY_16_NY, tick=False) as traveller:
        yield traveller


def _accept_due(org, external_id):
    lead = hand_off(org, external_id)
    return Clock.objects.get(lead=lead, kind=ClockKind.ACCEPT).due_at.astimezone(NEW_YORK)


def test_under_rep_a_late_hand_off_is_due_in_the_reps_next_morning(
    org, mql_in_force, london_team, at_monday_4pm
):
    in_force(org, [GOAL], clock_calendar="rep")
    # One hour left today (16:00-17:00), the other from 09:00 Tuesday.
    assert _accept_due(org, "R-1") == dt.datetime(2026, 11, 17, 10, 0, tzinfo=NEW_YORK)


def test_under_team_the_team_calendar_counts_as_before(
    org, mql_in_force, london_team, at_monday_4pm
):
    in_force(org, [GOAL])
    # 21:00 in London: closed; 09:00-11:00 London on Tuesday is 04:00-06:00 in New York.
    assert _accept_due(org, "T-1") == dt.datetime(2026, 11, 17, 6, 0, tzinfo=NEW_YORK)


def test_a_rep_without_hours_runs_on_the_team_calendar(
    org, mql_in_force, london_team, at_monday_4pm
):
    in_force(org, [GOAL], clock_calendar="rep")
    User.objects.filter(team=org["sam"].team).update(working_hours={})
    assert _accept_due(org, "R-2") == dt.datetime(2026, 11, 17, 6, 0, tzinfo=NEW_YORK)


def test_the_team_calendars_closures_still_close_the_reps_day(
    org, mql_in_force, london_team, at_monday_4pm
):
    in_force(org, [GOAL], clock_calendar="rep")
    calendar_services.closure_add(
        calendar=london_team, by=org["sam"], first_day=TUESDAY, last_day=TUESDAY, reason="Offsite"
    )
    assert _accept_due(org, "R-3") == dt.datetime(2026, 11, 18, 10, 0, tzinfo=NEW_YORK)


def test_a_rep_away_and_back_keeps_the_time_left_on_their_own_hours(
    org, mql_in_force, london_team, at_monday_4pm
):
    in_force(org, [GOAL], clock_calendar="rep")
    lead = hand_off(org, "R-4")
    at_monday_4pm.move_to(MONDAY_16_NY + dt.timedelta(minutes=30))
    member_set_away(member=lead.owner, away=True, by=org["sam"])
    c = Clock.objects.get(lead=lead, kind=ClockKind.ACCEPT)
    assert (c.state, c.remaining) == ("paused", dt.timedelta(hours=1, minutes=30))
    at_monday_4pm.move_to(dt.datetime(2026, 11, 17, 12, 0, tzinfo=NEW_YORK))
    member_set_away(member=lead.owner, away=False, by=org["sam"])
    c.refresh_from_db()
    assert c.due_at.astimezone(NEW_YORK) == dt.datetime(2026, 11, 17, 13, 30, tzinfo=NEW_YORK)


def test_the_assignment_clock_stays_on_the_team_calendar(
    org, mql_in_force, london_team, at_monday_4pm
):
    in_force(org, [GOAL], clock_calendar="rep", assign_hours=2)
    User.objects.filter(team=org["sam"].team).update(capacity=0)
    data, _ = clean_lead_input({**QUALIFYING, "external_id": "Q-1"})
    lead = ingest.lead_ingest(data=data, by=org["leo"], now=clock.now()).lead
    due = Clock.objects.get(lead=lead, kind=ClockKind.ASSIGNMENT).due_at
    assert due.astimezone(NEW_YORK) == dt.datetime(2026, 11, 17, 6, 0, tzinfo=NEW_YORK)


def test_a_bulk_of_hand_offs_reads_the_reps_hours_once(
    org, mql_in_force, london_team, at_monday_4pm, count_queries
):
    in_force(org, [GOAL], clock_calendar="rep")
    hand_off_many(org, "FIRST", 1, at=clock.now())  # what a first bulk reads once and keeps
    few = count_queries(lambda: hand_off_many(org, "FEW", 3, at=clock.now()))
    many = count_queries(lambda: hand_off_many(org, "MANY", 12, at=clock.now()))
    assert few == many
    due = {c.due_at for c in Clock.objects.filter(kind=ClockKind.ACCEPT)}
    assert due == {dt.datetime(2026, 11, 17, 10, 0, tzinfo=NEW_YORK)}


def test_a_pause_ended_by_the_scan_resumes_on_the_reps_own_hours(
    org, mql_in_force, london_team, at_monday_4pm
):
    in_force(
        org,
        [GOAL],
        conditions=({"label": "Waiting on the prospect", "max_days": 1},),
        clock_calendar="rep",
    )
    lead = hand_off(org, "R-5")
    lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    condition = pauses.conditions_for(lead)[0]
    made = pauses.lead_pause(
        lead=lead, by=lead.owner, condition=condition.pk, note="Call back.", now=clock.now()
    )
    c = Clock.objects.get(lead=lead, kind=ClockKind.FIRST_TOUCH)
    assert (c.state, c.remaining) == ("paused", dt.timedelta(hours=4))
    # The pause's maximum is a business day of the team's calendar: Tuesday 17:00 London.
    tuesday_noon = dt.datetime(2026, 11, 17, 12, 0, tzinfo=NEW_YORK)
    assert made.ends_at == tuesday_noon
    at_monday_4pm.move_to(tuesday_noon + dt.timedelta(minutes=1))
    assert scan().resumed == 1
    c.refresh_from_db()
    # Four of the rep's hours from noon, not four of London's from Wednesday 09:00.
    assert c.due_at.astimezone(NEW_YORK) == dt.datetime(2026, 11, 17, 16, 0, tzinfo=NEW_YORK)


def test_a_reps_shift_or_zone_moved_moves_their_running_deadlines(
    org, mql_in_force, london_team, at_monday_4pm
):
    in_force(org, [GOAL], clock_calendar="rep")
    lead = hand_off(org, "R-6")
    c = Clock.objects.get(lead=lead, kind=ClockKind.ACCEPT)
    rep = lead.owner
    tuesday_10 = dt.datetime(2026, 11, 17, 10, 0, tzinfo=NEW_YORK)
    assert c.due_at == tuesday_10
    # Working 12:00-20:00 on Mondays: both hours today.
    hours = {**NINE_TO_FIVE, "mon": ["12:00", "20:00"]}
    assert working_hours.working_hours_set(member=rep, by=org["sam"], hours=hours)
    c.refresh_from_db()
    assert c.due_at == MONDAY_16_NY + dt.timedelta(hours=2)
    assert ClockEvent.objects.filter(clock=c, kind="recomputed", data__hours_of=rep.pk).exists()
    lead.refresh_from_db()
    assert lead.action_due_at == c.due_at
    working_hours.working_hours_set(member=rep, by=org["sam"], hours=NINE_TO_FIVE)
    c.refresh_from_db()
    assert c.due_at == tuesday_10
    # The same 09:00-17:00 read in Los Angeles: Monday 16:00 in New York is 13:00 there.
    user_set_time_zone(user=rep, time_zone="America/Los_Angeles")
    c.refresh_from_db()
    assert c.due_at == MONDAY_16_NY + dt.timedelta(hours=2)


def test_under_team_a_reps_shift_moves_nothing(org, mql_in_force, london_team, at_monday_4pm):
    in_force(org, [GOAL])
    lead = hand_off(org, "T-2")
    before = Clock.objects.get(lead=lead, kind=ClockKind.ACCEPT).due_at
    hours = {**NINE_TO_FIVE, "mon": ["12:00", "20:00"]}
    working_hours.working_hours_set(member=lead.owner, by=org["sam"], hours=hours)
    assert Clock.objects.get(lead=lead, kind=ClockKind.ACCEPT).due_at == before
