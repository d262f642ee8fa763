"""Properties of the deadline arithmetic over random calendars, zones and moments."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.calendars import CalendarSpec, add_business_time, business_time_between, is_open

# Zones with DST at night (NY, Berlin, London, Sydney), a half-hour switch
# (Lord Howe), none (Kolkata, UTC), and one that skipped a whole day (Apia, 2011).
ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Apia",
    "UTC",
]

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TINY = timedelta(microseconds=1)


@st.composite
def day_intervals(draw, earliest=0, latest=24 * 60 - 1):
    """Sorted, non-overlapping (start, end) times on a minute grid."""
    points = draw(
        st.lists(st.integers(earliest, latest), min_size=0, max_size=6, unique=True).map(sorted)
    )
    if len(points) % 2:
        points = points[:-1]
    pairs = zip(points[::2], points[1::2], strict=True)
    return tuple((time(s // 60, s % 60), time(e // 60, e % 60)) for s, e in pairs)


@st.composite
def specs(draw, zones=ZONES, earliest=0):
    zone = draw(st.sampled_from(zones))
    week = {d: draw(day_intervals(earliest=earliest)) for d in range(7)}
    if not any(week.values()):
        week[draw(st.integers(0, 6))] = ((time(9), time(17)),)
    closed = draw(
        st.frozensets(st.dates(date(2010, 12, 1), date(2012, 3, 1)), max_size=40)
        | st.frozensets(st.dates(date(2024, 1, 1), date(2024, 12, 31)), max_size=40)
    )
    return CalendarSpec(zone, week, closed)


moments = st.one_of(
    st.datetimes(datetime(2011, 12, 20), datetime(2012, 1, 10), timezones=st.just(UTC)),
    st.datetimes(datetime(2024, 1, 1), datetime(2024, 12, 31), timezones=st.just(UTC)),
).map(lambda m: m.replace(microsecond=0))

durations = st.one_of(
    st.just(timedelta(0)),
    st.integers(0, 200 * 60).map(lambda minutes: timedelta(minutes=minutes)),
    st.integers(1, 10 * 24 * 3600).map(lambda seconds: timedelta(seconds=seconds)),
)


def in_open_time_or_at_an_end(spec, moment):
    return is_open(spec, moment) or is_open(spec, moment - TINY)


@PROPERTY_SETTINGS
@given(spec=specs(), start=moments, duration=durations)
def test_a_deadline_is_never_inside_closed_time(spec, start, duration):
    due = add_business_time(spec, start, duration)
    assert due >= start
    assert in_open_time_or_at_an_end(spec, due)


@PROPERTY_SETTINGS
@given(spec=specs(), start=moments, first=durations, second=durations)
def test_adding_in_two_steps_equals_adding_in_one(spec, start, first, second):
    in_two = add_business_time(spec, add_business_time(spec, start, first), second)
    assert in_two == add_business_time(spec, start, first + second)


@PROPERTY_SETTINGS
@given(spec=specs(), start=moments, duration=durations)
def test_business_time_between_inverts_add_business_time(spec, start, duration):
    due = add_business_time(spec, start, duration)
    assert business_time_between(spec, start, due) == duration


@PROPERTY_SETTINGS
@given(spec=specs(), start=moments, end=moments)
def test_business_time_between_is_additive_over_a_midpoint(spec, start, end):
    start, end = min(start, end), max(start, end)
    middle = start + (end - start) / 2
    whole = business_time_between(spec, start, end)
    assert whole == business_time_between(spec, start, middle) + business_time_between(
        spec, middle, end
    )
    assert timedelta(0) <= whole <= end - start


def _open_by_the_wall_clock(spec, moment):
    """An independent oracle: read the wall clock, look the time up in the week."""
    wall = moment.astimezone(ZoneInfo(spec.time_zone))
    if wall.date() in spec.closed_dates:
        return False
    clock = wall.time().replace(tzinfo=None, fold=0)
    return any(s <= clock < e for s, e in spec.week[wall.weekday()])


# Oracle check: interval bounds away from the night-time switches, where wall
# time is unambiguous, so reading the clock minute by minute must agree.
@settings(max_examples=60, deadline=None)
@given(
    spec=specs(earliest=5 * 60),
    start=moments,
    hours=st.integers(1, 72),
)
def test_open_time_agrees_with_reading_the_wall_clock_minute_by_minute(spec, start, hours):
    start = start.replace(second=0)
    end = start + timedelta(hours=hours)
    minutes = int((end - start).total_seconds() // 60)
    open_minutes = sum(
        _open_by_the_wall_clock(spec, start + timedelta(minutes=m)) for m in range(minutes)
    )
    assert business_time_between(spec, start, end) == timedelta(minutes=open_minutes)
    for m in range(0, minutes, 7):
        moment = start + timedelta(minutes=m)
        assert is_open(spec, moment) == _open_by_the_wall_clock(spec, moment)
