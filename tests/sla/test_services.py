"""Calendar services: who may edit, what bad input is refused, and that nothing is half-written."""

import logging
from datetime import date, time

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from alignment.models import Team
from sla import hooks, services
from sla.models import BusinessCalendar, Closure, WorkingInterval
from tests.sla.conftest import NINE_TO_FIVE

pytestmark = pytest.mark.django_db


@pytest.fixture
def americas(org):
    return Team.objects.get(name="Sales Americas")


@pytest.fixture
def calendar(org, americas):
    return services.calendar_create(
        by=org["sam"],
        name="Americas hours",
        time_zone="America/New_York",
        team=americas,
        holiday_country="US",
        week=NINE_TO_FIVE,
    )


def field_errors(excinfo) -> dict:
    return excinfo.value.message_dict


# --- creating ------------------------------------------------------------------


def test_a_manager_creates_the_calendar_of_their_team(org, americas):
    week = dict.fromkeys(range(5), [(time(13), time(17)), (time(9), time(12))])
    calendar = services.calendar_create(
        by=org["sam"],
        name="Americas",
        time_zone="America/New_York",
        team=americas,
        holiday_country="us",
        holiday_subdivision="ny",
        week=week,
    )
    assert calendar.team == americas
    assert (calendar.holiday_country, calendar.holiday_subdivision) == ("US", "NY")
    monday = list(calendar.intervals.filter(weekday=0).values_list("start", "end"))
    assert monday == [(time(9), time(12)), (time(13), time(17))]


def test_an_admin_creates_a_calendar_that_belongs_to_no_team(org):
    calendar = services.calendar_create(by=org["admin"], name="Spare", time_zone="UTC")
    assert calendar.team is None


def test_a_manager_may_not_create_a_calendar_for_no_team(org):
    with pytest.raises(PermissionDenied):
        services.calendar_create(by=org["sam"], name="Spare", time_zone="UTC")
    assert not BusinessCalendar.objects.exists()


@pytest.mark.parametrize("username", ["ravi", "elena", "leo", "ada"])
def test_only_the_teams_manager_or_an_admin_may_create_its_calendar(org, americas, username):
    with pytest.raises(PermissionDenied):
        services.calendar_create(
            by=org[username], name="Americas", time_zone="America/New_York", team=americas
        )
    assert not BusinessCalendar.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_zone": "America/Gotham"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"holiday_country": "US", "holiday_subdivision": "ZZ"}, "holiday_subdivision"),
        ({"holiday_subdivision": "NY"}, "holiday_subdivision"),
        ({"name": "   "}, "name"),
        ({"week": {0: [(time(9), time(13)), (time(12), time(17))]}}, "intervals"),
        ({"week": {2: [(time(17), time(9))]}}, "intervals"),
        ({"week": {8: [(time(9), time(17))]}}, "intervals"),
    ],
)
def test_bad_input_to_create_names_the_field_and_writes_nothing(org, americas, changes, field):
    arguments = {"name": "Americas", "time_zone": "America/New_York", "team": americas}
    with pytest.raises(ValidationError) as excinfo:
        services.calendar_create(by=org["sam"], **(arguments | changes))
    assert field in field_errors(excinfo)
    assert not BusinessCalendar.objects.exists()
    assert not WorkingInterval.objects.exists()


def test_overlapping_intervals_are_reported_with_the_weekday(org, americas):
    with pytest.raises(ValidationError) as excinfo:
        services.calendar_create(
            by=org["sam"],
            name="Americas",
            time_zone="America/New_York",
            team=americas,
            week={2: [(time(9), time(13)), (time(12), time(17))]},
        )
    assert "Wednesday" in field_errors(excinfo)["intervals"][0]
    assert "overlap" in field_errors(excinfo)["intervals"][0]


def test_a_team_has_at_most_one_calendar(org, americas, calendar):
    with pytest.raises(ValidationError) as excinfo:
        services.calendar_create(
            by=org["sam"], name="Second", time_zone="America/New_York", team=americas
        )
    assert "team" in field_errors(excinfo)
    assert BusinessCalendar.objects.count() == 1


def test_two_calendars_may_not_share_a_name(org, calendar):
    with pytest.raises(ValidationError) as excinfo:
        services.calendar_create(by=org["admin"], name="americas HOURS", time_zone="UTC")
    assert "name" in field_errors(excinfo)


# --- editing -------------------------------------------------------------------


def test_replacing_the_week_replaces_every_interval(
    org, calendar, heard, django_capture_on_commit_callbacks
):
    week = {5: [(time(10), time(14))]}
    with django_capture_on_commit_callbacks(execute=True):
        services.calendar_set_week(calendar=calendar, by=org["sam"], week=week)
    assert list(calendar.intervals.values_list("weekday", "start", "end")) == [
        (5, time(10), time(14))
    ]
    assert heard == [calendar.pk]


def test_a_refused_week_leaves_the_old_week_and_announces_nothing(org, calendar, heard):
    before = list(calendar.intervals.values_list("weekday", "start", "end"))
    with pytest.raises(ValidationError) as excinfo:
        services.calendar_set_week(
            calendar=calendar,
            by=org["sam"],
            week={0: [(time(9), time(17))], 1: [(time(18), time(8))]},
        )
    assert "Tuesday" in field_errors(excinfo)["intervals"][0]
    assert list(calendar.intervals.values_list("weekday", "start", "end")) == before
    assert heard == []


def test_an_edit_announces_the_calendar_only_after_it_commits(
    org, calendar, heard, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.closure_add(
            calendar=calendar,
            by=org["sam"],
            first_day=date(2025, 8, 11),
            last_day=date(2025, 8, 15),
            reason="Summer shutdown",
        )
    assert heard == []
    for callback in callbacks:
        callback()
    assert heard == [calendar.pk]


def test_an_edit_rolled_back_with_its_caller_announces_nothing(
    org, calendar, heard, django_capture_on_commit_callbacks
):
    def edit_then_fail():
        with transaction.atomic():
            services.calendar_set_week(calendar=calendar, by=org["sam"], week={})
            raise RuntimeError("the caller failed after the edit")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        edit_then_fail()
    assert callbacks == []
    assert heard == []
    assert calendar.intervals.count() == 5


def test_every_edit_bumps_the_revision(org, calendar):
    revision = calendar.revision
    with time_machine.travel("2025-03-01 12:00Z", tick=False):
        services.calendar_set_week(calendar=calendar, by=org["sam"], week=NINE_TO_FIVE)
        services.calendar_set_week(calendar=calendar, by=org["sam"], week=NINE_TO_FIVE)
    calendar.refresh_from_db()
    assert calendar.revision == revision + 2


def test_a_manager_changes_the_time_zone_and_holidays_of_their_calendar(org, calendar):
    updated = services.calendar_update(
        calendar=calendar,
        by=org["sam"],
        name="Americas (Chicago)",
        time_zone="America/Chicago",
        holiday_country="US",
        holiday_subdivision="IL",
    )
    assert (updated.name, updated.time_zone, updated.holiday_subdivision) == (
        "Americas (Chicago)",
        "America/Chicago",
        "IL",
    )


def test_a_refused_update_changes_nothing(org, calendar):
    with pytest.raises(ValidationError) as excinfo:
        services.calendar_update(
            calendar=calendar, by=org["sam"], name="Renamed", time_zone="Nowhere/Land"
        )
    assert set(field_errors(excinfo)) == {"time_zone"}
    calendar.refresh_from_db()
    assert (calendar.name, calendar.time_zone) == ("Americas hours", "America/New_York")


def test_only_an_admin_moves_a_calendar_to_another_team(org, calendar):
    emea = Team.objects.get(name="Sales EMEA")
    with pytest.raises(PermissionDenied):
        services.calendar_update(
            calendar=calendar, by=org["sam"], name=calendar.name, time_zone="UTC", team=emea
        )
    moved = services.calendar_update(
        calendar=calendar, by=org["admin"], name=calendar.name, time_zone="UTC", team=emea
    )
    assert moved.team == emea


@pytest.mark.parametrize("username", ["ravi", "elena", "maya", "ada"])
def test_a_rep_or_another_teams_manager_may_not_edit_the_calendar(org, calendar, username):
    with pytest.raises(PermissionDenied):
        services.calendar_set_week(calendar=calendar, by=org[username], week={})
    with pytest.raises(PermissionDenied):
        services.closure_add(
            calendar=calendar,
            by=org[username],
            first_day=date(2025, 1, 2),
            last_day=date(2025, 1, 2),
            reason="No",
        )
    assert calendar.intervals.count() == 5
    assert not Closure.objects.exists()


# --- closures ------------------------------------------------------------------


def test_a_manager_adds_and_removes_a_closure(org, calendar):
    closure = services.closure_add(
        calendar=calendar,
        by=org["sam"],
        first_day=date(2025, 12, 24),
        last_day=date(2026, 1, 1),
        reason="  Winter break ",
    )
    assert closure.reason == "Winter break"
    assert closure.length_in_days == 9
    services.closure_remove(closure=closure, by=org["sam"])
    assert not Closure.objects.exists()


def test_another_teams_manager_may_not_remove_a_closure(org, calendar):
    closure = services.closure_add(
        calendar=calendar,
        by=org["admin"],
        first_day=date(2025, 12, 24),
        last_day=date(2025, 12, 24),
        reason="Eve",
    )
    with pytest.raises(PermissionDenied):
        services.closure_remove(closure=closure, by=org["elena"])
    assert Closure.objects.filter(pk=closure.pk).exists()


@pytest.mark.parametrize(
    ("first_day", "last_day", "reason", "field"),
    [
        (date(2025, 5, 2), date(2025, 5, 1), "Backwards", "last_day"),
        (date(2025, 5, 1), date(2026, 6, 1), "Too long", "last_day"),
        (date(2025, 5, 1), date(2025, 5, 1), "   ", "reason"),
        (None, date(2025, 5, 1), "No start", "first_day"),
        (date(2025, 5, 1), date(2025, 5, 1), "x" * 201, "reason"),
    ],
)
def test_a_bad_closure_names_the_field_and_writes_nothing(
    org, calendar, heard, first_day, last_day, reason, field
):
    revision = calendar.revision
    with pytest.raises(ValidationError) as excinfo:
        services.closure_add(
            calendar=calendar, by=org["sam"], first_day=first_day, last_day=last_day, reason=reason
        )
    assert field in field_errors(excinfo)
    assert not Closure.objects.exists()
    calendar.refresh_from_db()
    assert calendar.revision == revision
    assert heard == []


# --- the database holds the line too -----------------------------------------


def test_the_database_refuses_an_interval_that_ends_before_it_starts(calendar):
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkingInterval.objects.create(calendar=calendar, weekday=6, start=time(17), end=time(9))


def test_the_database_refuses_a_closure_that_ends_before_it_starts(calendar):
    with pytest.raises(IntegrityError), transaction.atomic():
        Closure.objects.create(
            calendar=calendar, first_day=date(2025, 2, 2), last_day=date(2025, 2, 1), reason="x"
        )


# --- the hook ------------------------------------------------------------------


def test_a_failing_listener_is_logged_and_the_others_still_run(caplog):
    heard = []

    def broken(calendar_id):
        raise RuntimeError("boom")

    hooks.CALENDAR_CHANGED_LISTENERS.register(broken)
    hooks.CALENDAR_CHANGED_LISTENERS.register(heard.append)
    try:
        with caplog.at_level(logging.ERROR, logger="sla.hooks"):
            hooks.calendar_changed(7)
    finally:
        hooks.CALENDAR_CHANGED_LISTENERS.unregister(broken)
        hooks.CALENDAR_CHANGED_LISTENERS.unregister(heard.append)
    assert heard == [7]
    assert "listener" in caplog.text


def test_registering_a_listener_twice_runs_it_once():
    heard = []
    listener = heard.append
    hooks.on_calendar_changed(listener)
    hooks.on_calendar_changed(listener)
    try:
        hooks.calendar_changed(3)
    finally:
        hooks.CALENDAR_CHANGED_LISTENERS.unregister(listener)
    assert heard == [3]
