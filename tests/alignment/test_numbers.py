"""One way to write every number: counts, shares, durations, changes."""

from decimal import Decimal

import pytest

from alignment import numbers


@pytest.mark.parametrize(
    ("value", "noun", "text"),
    [
        (0, "lead", "0 leads"),
        (1, "lead", "1 lead"),
        (2, "breach", "2 breaches"),
        (1204, "lead", "1,204 leads"),
        (1234567, "", "1,234,567"),
        (None, "lead", "–"),
    ],
)
def test_counts_have_thousands_separators_and_the_right_plural(value, noun, text):
    assert numbers.count(value, noun) == text


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (52, "2 d 4 h"),
        (2 + 10 / 60, "2 h 10 m"),
        (0.4, "24 m"),
        (0, "0 m"),
        (3, "3 h"),
        (48, "2 d"),
        (47.9, "2 d"),  # 1 d 23 h 54 m: the minutes round the hours up, and the hours the day
        (1286.8, "53 d 15 h"),
        (24 * 1000, "1,000 d"),
        (-0.5, "-30 m"),
        (Decimal("1.5"), "1 h 30 m"),
        (None, "–"),
    ],
)
def test_durations_read_in_the_two_largest_units(hours, text):
    assert numbers.duration(hours) == text


def test_shares_money_and_scores_have_one_form_each():
    assert numbers.percent(67.8) == "67.8%"
    assert numbers.percent(100) == "100.0%"
    assert numbers.percent(None) == "–"
    assert numbers.money(Decimal("171500.00")) == "171,500"
    assert numbers.score(0.8123) == "0.812"


def test_a_change_has_an_arrow_a_size_and_its_unit():
    assert numbers.change(3, "count", "breach") == "▲ 3 breaches"
    assert numbers.change(-1, "count", "breach") == "▼ 1 breach"
    assert numbers.change(-25 / 60, "hours") == "▼ 25 m"
    assert numbers.change(2.5, "percent") == "▲ 2.5 pts"
    assert numbers.change(-1.0, "percent") == "▼ 1.0 pt"
    assert numbers.change(0, "count", "lead") == "no change"
    assert numbers.change(None, "count") == "–"
