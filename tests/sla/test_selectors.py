"""Which calendar a team's clocks run on, and what reading it costs."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from alignment.models import Team
from sla import services
from sla.calendars import add_business_time, is_open
from sla.selectors import (
    calendar_for_team,
    calendars_for_teams,
    upcoming_closures,
    upcoming_holidays,
)
from tests.alignment.factories import TeamFactory
from tests.sla.factories import BusinessCalendarFactory, ClosureFactory

pytestmark = pytest.mark.django_db

HOURS = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _in_2025():
    with time_machine.travel(datetime(2025, 6, 2, 12, tzinfo=UTC), tick=False):
        yield


def test_a_team_without_a_calendar_works_nine_to_five_on_weekdays_in_its_zone():
    team = TeamFactory(time_zone="Asia/Tokyo")
    spec = calendar_for_team(team)
    assert spec.time_zone == "Asia/Tokyo"
    assert spec.week[0] == ((time(9), time(17)),)
    assert spec.week[5] == spec.week[6] == ()
    assert spec.closed_dates == frozenset()


def test_a_teams_calendar_brings_its_public_holidays_and_closures():
    calendar = BusinessCalendarFactory(
        team=TeamFactory(time_zone="America/New_York"),
        time_zone="America/New_York",
        holiday_country="US",
    )
    ClosureFactory(calendar=calendar, first_day=date(2025, 8, 11), last_day=date(2025, 8, 15))
    spec = calendar_for_team(calendar.team)
    assert date(2025, 7, 4) in spec.closed_dates  # Independence Day
    assert date(2028, 7, 4) in spec.closed_dates  # three years ahead
    assert {date(2025, 8, 11), date(2025, 8, 15)} <= spec.closed_dates
    assert not is_open(spec, datetime(2025, 7, 4, 15, tzinfo=UTC))


def test_subdivision_holidays_count_only_where_they_apply():
    berlin = BusinessCalendarFactory(holiday_country="DE", holiday_subdivision="BY")
    assert date(2025, 1, 6) in calendar_for_team(berlin.team).closed_dates  # Epiphany
    hamburg = BusinessCalendarFactory(holiday_country="DE", holiday_subdivision="HH")
    assert date(2025, 1, 6) not in calendar_for_team(hamburg.team).closed_dates


def test_a_repeated_read_costs_one_small_query(django_assert_num_queries):
    calendar = BusinessCalendarFactory(holiday_country="GB")
    ClosureFactory(calendar=calendar)
    first = calendar_for_team(Team.objects.get(pk=calendar.team_id))
    team = Team.objects.get(pk=calendar.team_id)
    with django_assert_num_queries(1):
        again = calendar_for_team(team)
    assert again is first


def test_a_team_loaded_with_its_calendar_costs_no_query_at_all(django_assert_num_queries):
    calendar = BusinessCalendarFactory()
    calendar_for_team(Team.objects.select_related("business_calendar").get(pk=calendar.team_id))
    team = Team.objects.select_related("business_calendar").get(pk=calendar.team_id)
    with django_assert_num_queries(0):
        calendar_for_team(team)
        calendar_for_team(team)


def test_an_edit_is_seen_by_the_next_read(org):
    team = Team.objects.get(name="Sales Americas")
    calendar = services.calendar_create(
        by=org["sam"], name="Americas", time_zone="America/New_York", team=team
    )
    assert calendar_for_team(Team.objects.get(pk=team.pk)).week[0] == ()
    services.calendar_set_week(calendar=calendar, by=org["sam"], week={0: [(time(8), time(16))]})
    assert calendar_for_team(Team.objects.get(pk=team.pk)).week[0] == ((time(8), time(16)),)
    services.closure_add(
        calendar=calendar,
        by=org["sam"],
        first_day=date(2025, 6, 9),
        last_day=date(2025, 6, 9),
        reason="Offsite",
    )
    spec = calendar_for_team(Team.objects.get(pk=team.pk))
    assert date(2025, 6, 9) in spec.closed_dates
    monday_before = datetime(2025, 6, 2, 15, tzinfo=UTC)  # 11:00 in New York
    due = add_business_time(spec, monday_before, 8 * HOURS)
    assert due == datetime(2025, 6, 16, 15, tzinfo=UTC)  # the next Monday is closed


def test_specs_for_many_teams_cost_one_query_once_warm(django_assert_num_queries):
    calendars = [BusinessCalendarFactory() for _ in range(5)]
    bare = TeamFactory()
    ids = [c.team_id for c in calendars] + [bare.pk]
    calendars_for_teams(ids)
    with django_assert_num_queries(1):
        specs = calendars_for_teams(ids)
    assert set(specs) == set(ids)
    assert specs[bare.pk].week[0] == ((time(9), time(17)),)


def test_upcoming_holidays_say_which_close_a_working_day():
    calendar = BusinessCalendarFactory(holiday_country="US", time_zone="America/New_York")
    found = {h.day: h for h in upcoming_holidays(calendar, start=date(2025, 6, 2))}
    assert found[date(2025, 7, 4)].on_working_day  # a Friday
    assert found[date(2025, 7, 4)].name == "Independence Day"
    assert date(2026, 6, 19) not in found  # 12 months, no more
    sunday_holidays = [h for h in found.values() if h.day.weekday() == 6]
    assert all(not h.on_working_day for h in sunday_holidays)


def test_upcoming_closures_leave_out_those_already_over():
    calendar = BusinessCalendarFactory()
    ClosureFactory(calendar=calendar, first_day=date(2025, 1, 1), last_day=date(2025, 1, 2))
    current = ClosureFactory(
        calendar=calendar, first_day=date(2025, 6, 1), last_day=date(2025, 6, 3)
    )
    assert upcoming_closures(calendar, today=date(2025, 6, 2)) == [current]
