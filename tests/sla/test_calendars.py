"""The deadline arithmetic, by example: every case a person would ask about."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla.calendars import (
    MAX_CLOSED_DAYS,
    CalendarSpec,
    NoWorkingTime,
    add_business_time,
    business_time_between,
    intervals_between,
    is_open,
    next_open,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
HOURS = timedelta(hours=1)

WEEKDAYS = range(5)


def nine_to_five(zone="America/New_York", closed=(), days=WEEKDAYS):
    return CalendarSpec(zone, {d: ((time(9), time(17)),) for d in days}, frozenset(closed))


def with_lunch(zone="America/New_York", closed=()):
    day = ((time(9), time(12)), (time(13), time(17)))
    return CalendarSpec(zone, dict.fromkeys(WEEKDAYS, day), frozenset(closed))


def at(zone, *parts):
    return datetime(*parts, tzinfo=zone)


def local(moment, zone):
    return moment.astimezone(zone).replace(tzinfo=None)


# --- ordinary days ---------------------------------------------------------


def test_eight_hours_from_opening_end_at_closing_the_same_day():
    due = add_business_time(nine_to_five(), at(NEW_YORK, 2024, 6, 3, 9), 8 * HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 6, 3, 17)


def test_the_result_is_an_aware_utc_datetime():
    due = add_business_time(nine_to_five(), at(NEW_YORK, 2024, 6, 3, 9), HOURS)
    assert due.tzinfo is UTC
    assert due == datetime(2024, 6, 3, 14, tzinfo=UTC)


def test_an_hour_from_half_past_four_on_friday_is_half_past_nine_on_monday():
    due = add_business_time(nine_to_five(), at(NEW_YORK, 2024, 6, 7, 16, 30), HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 6, 10, 9, 30)


def test_a_lunch_break_does_not_count():
    due = add_business_time(with_lunch(), at(NEW_YORK, 2024, 6, 3, 11, 30), HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 6, 3, 13, 30)


def test_a_deadline_at_the_start_of_lunch_stays_before_lunch():
    due = add_business_time(with_lunch(), at(NEW_YORK, 2024, 6, 3, 9), 3 * HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 6, 3, 12)


def test_the_start_may_be_given_in_any_zone():
    start = at(ZoneInfo("Asia/Tokyo"), 2024, 6, 3, 23)  # 10:00 in New York
    due = add_business_time(nine_to_five(), start, HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 6, 3, 11)


# --- handoffs outside working hours ----------------------------------------


def test_a_handoff_at_night_starts_counting_at_the_next_opening():
    due = add_business_time(nine_to_five(), at(NEW_YORK, 2024, 6, 4, 22), 2 * HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 6, 5, 11)


def test_a_handoff_just_after_midnight_counts_from_that_mornings_opening():
    due = add_business_time(nine_to_five(), at(NEW_YORK, 2024, 6, 5, 0, 5), 2 * HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 6, 5, 11)


def test_a_handoff_on_saturday_counts_from_monday_morning():
    due = add_business_time(nine_to_five(), at(NEW_YORK, 2024, 6, 8, 10), 4 * HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 6, 10, 13)


def test_a_handoff_on_a_public_holiday_counts_from_the_next_working_day():
    spec = nine_to_five(closed={date(2024, 7, 4)})
    due = add_business_time(spec, at(NEW_YORK, 2024, 7, 4, 10), 4 * HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 7, 5, 13)


def test_a_deadline_that_would_fall_on_a_holiday_moves_past_it():
    spec = nine_to_five(closed={date(2024, 7, 4)})
    due = add_business_time(spec, at(NEW_YORK, 2024, 7, 3, 15), 4 * HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 7, 5, 11)


def test_a_handoff_at_closing_time_counts_from_the_next_morning():
    due = add_business_time(nine_to_five(), at(NEW_YORK, 2024, 6, 3, 17), HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 6, 4, 10)


# --- closures ----------------------------------------------------------------


def test_a_deadline_in_a_week_of_closure_lands_after_it():
    closed_week = {date(2024, 8, 12) + timedelta(days=n) for n in range(7)}
    spec = nine_to_five(closed=closed_week)
    due = add_business_time(spec, at(NEW_YORK, 2024, 8, 9, 16), 3 * HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 8, 19, 11)


def test_a_handoff_inside_a_closure_counts_from_the_reopening():
    closure = {date(2024, 12, 24) + timedelta(days=n) for n in range(9)}  # Dec 24 - Jan 1
    spec = nine_to_five("Europe/Berlin", closed=closure)
    due = add_business_time(spec, at(BERLIN, 2024, 12, 27, 11), 30 * timedelta(minutes=1))
    assert local(due, BERLIN) == datetime(2025, 1, 2, 9, 30)


def test_a_long_duration_spans_weeks_and_skips_holidays():
    spec = nine_to_five(closed={date(2024, 5, 27)})  # Memorial Day, a Monday
    start = at(NEW_YORK, 2024, 5, 20, 9)
    due = add_business_time(spec, start, 80 * HOURS)  # ten working days
    assert local(due, NEW_YORK) == datetime(2024, 6, 3, 17)  # 5 + 4 + 1 days
    assert business_time_between(spec, start, due) == 80 * HOURS


def test_a_year_of_business_hours_is_counted_without_stepping_minute_by_minute():
    spec = nine_to_five()
    start = at(NEW_YORK, 2024, 1, 1, 9)
    due = add_business_time(spec, start, 2000 * HOURS)  # 250 working days
    assert business_time_between(spec, start, due) == 2000 * HOURS
    assert due.year == 2024


# --- zero durations ----------------------------------------------------------


def test_zero_duration_inside_open_time_is_the_start_itself():
    start = at(NEW_YORK, 2024, 6, 3, 10, 15)
    assert add_business_time(nine_to_five(), start, timedelta(0)) == start


def test_zero_duration_from_closed_time_is_the_next_opening():
    due = add_business_time(nine_to_five(), at(NEW_YORK, 2024, 6, 8, 3), timedelta(0))
    assert local(due, NEW_YORK) == datetime(2024, 6, 10, 9)


def test_zero_duration_from_lunch_is_the_end_of_lunch():
    due = add_business_time(with_lunch(), at(NEW_YORK, 2024, 6, 3, 12, 30), timedelta(0))
    assert local(due, NEW_YORK) == datetime(2024, 6, 3, 13)


def test_zero_duration_from_a_deadline_at_closing_time_keeps_it():
    deadline = add_business_time(nine_to_five(), at(NEW_YORK, 2024, 6, 3, 9), 8 * HOURS)
    assert add_business_time(nine_to_five(), deadline, timedelta(0)) == deadline


# --- daylight saving ---------------------------------------------------------


def test_spring_forward_in_new_york_does_not_shorten_a_working_day():
    # The switch is at 02:00 on Sunday 10 March 2024; Friday is EST, Monday EDT.
    spec = nine_to_five()
    due = add_business_time(spec, at(NEW_YORK, 2024, 3, 8, 16), 2 * HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 3, 11, 10)
    assert due == datetime(2024, 3, 11, 14, tzinfo=UTC)


def test_fall_back_in_new_york_does_not_lengthen_a_working_day():
    spec = nine_to_five()
    due = add_business_time(spec, at(NEW_YORK, 2024, 11, 1, 16), 2 * HOURS)
    assert local(due, NEW_YORK) == datetime(2024, 11, 4, 10)
    assert due == datetime(2024, 11, 4, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "switch_day"),
    [
        ("America/New_York", date(2024, 3, 10)),
        ("America/New_York", date(2024, 11, 3)),
        ("Europe/Berlin", date(2024, 3, 31)),
        ("Europe/Berlin", date(2024, 10, 27)),
    ],
)
def test_a_nine_to_five_day_with_a_switch_at_night_is_still_eight_hours(zone, switch_day):
    tz = ZoneInfo(zone)
    spec = nine_to_five(zone, days=range(7))
    day_start = datetime.combine(switch_day, time(0), tzinfo=tz)
    next_day = datetime.combine(switch_day + timedelta(days=1), time(0), tzinfo=tz)
    assert business_time_between(spec, day_start, next_day) == 8 * HOURS
    due = add_business_time(spec, day_start, 8 * HOURS)
    assert local(due, tz) == datetime.combine(switch_day, time(17))


@pytest.mark.parametrize(
    ("zone", "switch_day", "hours"),
    [
        ("America/New_York", date(2024, 3, 10), 5),  # 02:00 -> 03:00
        ("America/New_York", date(2024, 11, 3), 7),  # 01:00-02:00 twice
        ("Europe/Berlin", date(2024, 3, 31), 5),
        ("Europe/Berlin", date(2024, 10, 27), 7),
    ],
)
def test_a_night_shift_across_the_switch_loses_or_gains_the_hour(zone, switch_day, hours):
    tz = ZoneInfo(zone)
    spec = CalendarSpec(zone, dict.fromkeys(range(7), ((time(0), time(6)),)))
    day_start = datetime.combine(switch_day, time(0), tzinfo=tz)
    assert business_time_between(spec, day_start, day_start + 24 * HOURS) == hours * HOURS
    due = add_business_time(spec, day_start, hours * HOURS)
    assert local(due, tz) == datetime.combine(switch_day, time(6))


def test_an_opening_time_the_clock_skips_opens_at_the_switch():
    # 02:30 never happens in New York on 10 March 2024: the clock jumps 02:00 -> 03:00.
    spec = CalendarSpec("America/New_York", {6: ((time(2, 30), time(4)),)})
    (start, end), *_ = spec.day_intervals(date(2024, 3, 10))
    assert local(start, NEW_YORK) == datetime(2024, 3, 10, 3)
    assert end - start == HOURS


def test_a_deadline_in_berlin_across_the_spring_switch_is_exact_in_utc():
    spec = CalendarSpec("Europe/Berlin", dict.fromkeys(WEEKDAYS, ((time(8, 30), time(17)),)))
    due = add_business_time(spec, at(BERLIN, 2024, 3, 29, 16), 2 * HOURS)  # Good Friday
    assert due == datetime(2024, 4, 1, 7, 30, tzinfo=UTC)  # 09:30 CEST on Monday


# --- is_open, next_open, business_time_between -------------------------------


def test_the_office_is_open_from_the_opening_instant_until_just_before_closing():
    spec = nine_to_five()
    assert is_open(spec, at(NEW_YORK, 2024, 6, 3, 9))
    assert is_open(spec, at(NEW_YORK, 2024, 6, 3, 16, 59, 59))
    assert not is_open(spec, at(NEW_YORK, 2024, 6, 3, 17))
    assert not is_open(spec, at(NEW_YORK, 2024, 6, 3, 8, 59, 59))
    assert not is_open(spec, at(NEW_YORK, 2024, 6, 8, 12))


def test_a_holiday_is_closed_all_day():
    spec = nine_to_five(closed={date(2024, 7, 4)})
    assert not is_open(spec, at(NEW_YORK, 2024, 7, 4, 12))


def test_next_open_is_the_moment_itself_when_open():
    moment = at(NEW_YORK, 2024, 6, 3, 12)
    assert next_open(nine_to_five(), moment) == moment


def test_next_open_from_closing_time_is_the_next_morning():
    opening = next_open(nine_to_five(), at(NEW_YORK, 2024, 6, 7, 17))
    assert local(opening, NEW_YORK) == datetime(2024, 6, 10, 9)
    assert opening.tzinfo is UTC


def test_business_time_between_counts_only_open_time():
    spec = with_lunch()
    start = at(NEW_YORK, 2024, 6, 7, 11)  # Friday
    end = at(NEW_YORK, 2024, 6, 10, 14)  # Monday
    assert business_time_between(spec, start, end) == 9 * HOURS  # 1 + 4 on Friday, 3 + 1 Monday
    assert business_time_between(spec, end, start) == -business_time_between(spec, start, end)


def test_business_time_between_an_instant_and_itself_is_zero():
    moment = at(NEW_YORK, 2024, 6, 3, 12)
    assert business_time_between(nine_to_five(), moment, moment) == timedelta(0)


def test_intervals_between_are_clipped_to_the_range():
    spec = with_lunch()
    spans = list(
        intervals_between(spec, at(NEW_YORK, 2024, 6, 3, 10), at(NEW_YORK, 2024, 6, 3, 14))
    )
    assert [(local(s, NEW_YORK).hour, local(e, NEW_YORK).hour) for s, e in spans] == [
        (10, 12),
        (13, 14),
    ]


# --- validation and guards -------------------------------------------------


def test_touching_intervals_are_one_stretch():
    spec = CalendarSpec("UTC", {0: ((time(12), time(17)), (time(9), time(12)))})
    assert spec.week[0] == ((time(9), time(17)),)


def test_a_weekly_total_is_reported_from_the_wall_clock():
    assert with_lunch().weekly_hours == 35 * HOURS


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ({0: ((time(22), time(6)),)}, "cross midnight"),
        ({0: ((time(9), time(9)),)}, "ends before it starts"),
        ({0: ((time(9), time(13)), (time(12), time(17)))}, "overlap"),
        ({7: ((time(9), time(17)),)}, "Weekdays are 0"),
        ({0: ((time(9),),)}, "(start, end) pair"),
        ({0: (("09:00", "17:00"),)}, "datetime.time"),
        ({0: ((time(9, tzinfo=UTC), time(17)),)}, "tzinfo"),
    ],
)
def test_a_malformed_week_is_refused_with_a_clear_message(week, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CalendarSpec("UTC", week)


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ValueError, match="not an IANA time zone"):
        CalendarSpec("Mars/Olympus_Mons", {})


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError, match="aware"):
        add_business_time(nine_to_five(), datetime(2024, 6, 3, 9), HOURS)


def test_a_negative_duration_is_refused():
    with pytest.raises(ValueError, match="negative"):
        add_business_time(nine_to_five(), at(NEW_YORK, 2024, 6, 3, 9), -HOURS)


def test_a_calendar_with_no_working_time_refuses_instead_of_looping():
    spec = CalendarSpec("UTC", {})
    with pytest.raises(NoWorkingTime, match="no working hours"):
        add_business_time(spec, datetime(2024, 6, 3, tzinfo=UTC), HOURS)
    with pytest.raises(NoWorkingTime):
        next_open(spec, datetime(2024, 6, 3, tzinfo=UTC))
    assert business_time_between(spec, datetime(2024, 6, 3, tzinfo=UTC), datetime.now(UTC)) == (
        timedelta(0)
    )


def test_a_calendar_closed_for_years_gives_up_after_the_bound():
    first = date(2024, 1, 1)
    closed = {first + timedelta(days=n) for n in range(MAX_CLOSED_DAYS + 10)}
    spec = nine_to_five("UTC", closed=closed)
    with pytest.raises(NoWorkingTime, match="consecutive days"):
        add_business_time(spec, datetime(2024, 1, 1, tzinfo=UTC), HOURS)
    with pytest.raises(NoWorkingTime):
        next_open(spec, datetime(2024, 1, 1, tzinfo=UTC))


def test_a_spec_is_hashable_and_equal_by_value():
    a = nine_to_five(closed={date(2024, 7, 4)})
    b = nine_to_five(closed=[date(2024, 7, 4)])
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
