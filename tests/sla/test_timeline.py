"""The replay's timeline places a deadline exactly where the live clocks do."""

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given

from sla.calendars import CalendarSpec, add_business_time
from sla.deadlines import Timeline
from tests.sla.test_calendar_properties import PROPERTY_SETTINGS, durations, moments, specs


@PROPERTY_SETTINGS
@given(spec=specs(), start=moments, duration=durations)
def test_a_timeline_deadline_is_the_live_engines_deadline(spec, start, duration):
    day = start.date()
    timeline = Timeline(spec, day - timedelta(days=3), day + timedelta(days=40))
    assert timeline.add(start, duration) == add_business_time(spec, start, duration)


def test_outside_its_span_a_timeline_still_answers_right():
    spec = CalendarSpec("Europe/Berlin", dict.fromkeys(range(5), ((time(9), time(17)),)))
    timeline = Timeline(spec, date(2026, 3, 1), date(2026, 3, 31))
    for start in (datetime(2026, 1, 5, 10, tzinfo=UTC), datetime(2026, 3, 30, 10, tzinfo=UTC)):
        for hours in (0, 1, 8, 200):
            duration = timedelta(hours=hours)
            assert timeline.add(start, duration) == add_business_time(spec, start, duration)
