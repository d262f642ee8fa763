"""The shared campaign calendar: each sales team's capacity week by week beside the leads
marketing's campaigns should bring; an overload flagged to both sides before it starts."""

import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse

from alignment import clock
from alignment.models import Notification, User
from leads import campaigns
from sla import capacity
from sla import demo as sla_demo

pytestmark = pytest.mark.django_db

TODAY = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)
CHRISTMAS_WEEK = dt.date(2026, 12, 21)  # Mon 21 to Sun 27: from Thu 24 closed in EMEA


@pytest.fixture
def calendars(org):
    sla_demo.seed_demo(stdout=io.StringIO())  # the demo teams' calendars (and agreement)


def _plan(org, name, per_week, teams, starts="2026-12-07", ends="2026-12-27"):
    return campaigns.campaign_create(
        by=org["leo"],
        data={
            "name": name,
            "channel": "webinar",
            "starts_on": starts,
            "ends_on": ends,
            "cost": "1000",
            "expected_per_week": str(per_week),
            "target_teams": [org[t].team_id for t in teams],
        },
        now=clock.now(),
    )


def _week(org, manager, week):
    rows = capacity.load(first=week, last=week)
    return rows[org[manager].team_id][0]


def test_a_teams_capacity_is_its_reps_at_work_less_holidays_and_closures(org, calendars):
    emea = org["elena"].team
    reps = User.objects.filter(team=emea, groups__name="Sales rep")
    full = _week(org, "elena", dt.date(2026, 12, 7))
    assert full.reps == reps.count()
    assert full.capacity == sum(r.capacity for r in reps)
    closed = _week(org, "elena", CHRISTMAS_WEEK)
    assert (closed.open_days, closed.usual_days) == (3, 5)  # the winter closure
    assert closed.capacity == round(full.capacity * 3 / 5)
    away = reps.first()
    User.objects.filter(pk=away.pk).update(is_away=True)
    assert _week(org, "elena", dt.date(2026, 12, 7)).capacity == full.capacity - away.capacity


def test_a_reps_time_off_takes_their_share_of_that_weeks_capacity_and_can_overload_it(
    client, org, calendars
):
    """EMEA can take a campaign sized to its full week until a rep books that week off:
    then that week (only) is over capacity, and the marketer and EMEA's manager are told
    and see it on the calendar."""
    from alignment.services import time_off_add

    emea = org["elena"].team
    full = _week(org, "elena", dt.date(2026, 12, 7)).capacity
    _plan(org, "Sized to fit", full, ["elena"], starts="2026-12-07", ends="2026-12-20")
    assert capacity.overloads(first=dt.date(2026, 12, 7), last=dt.date(2026, 12, 20)) == []
    rep = User.objects.filter(team=emea, groups__name="Sales rep").order_by("pk").first()
    with time_machine.travel(TODAY, tick=False):
        # The whole second week and its Saturday (a closed day: not counted).
        time_off_add(member=rep, by=org["elena"], first_day="2026-12-14", last_day="2026-12-19")
    second = _week(org, "elena", dt.date(2026, 12, 14))
    assert second.off_days == 5  # Monday to Friday: the Saturday is not an open day
    assert second.capacity == full - rep.capacity
    assert _week(org, "elena", dt.date(2026, 12, 7)).capacity == full
    flagged = capacity.overloads(first=dt.date(2026, 12, 7), last=dt.date(2026, 12, 20))
    assert [(row.team.name, row.week) for row in flagged] == [("Sales EMEA", dt.date(2026, 12, 14))]
    assert "less 5 days of time off" in flagged[0].warning
    with time_machine.travel(TODAY, tick=False):
        assert capacity.flag_overloads(now=clock.now()) == 2
    told = Notification.objects.filter(kind="campaign_overload")
    assert {n.recipient.username for n in told} == {"leo", "elena"}
    for who in ("leo", "elena"):
        client.force_login(org[who])
        week = client.get(reverse("sla:campaign_calendar"), {"view": "week", "date": "2026-12-14"})
        html = week.content.decode()
        assert "More leads expected than the team can take" in html
        assert "5 days of time off" in html


def test_expected_leads_over_capacity_are_flagged_only_in_the_weeks_and_teams_they_hit(
    org, calendars
):
    emea_full = _week(org, "elena", dt.date(2026, 12, 7)).capacity
    # Enough for a full week of EMEA, too much for Christmas week; Americas untouched.
    _plan(org, "Winter push", emea_full, ["elena"])
    flagged = capacity.overloads(first=dt.date(2026, 12, 1), last=dt.date(2026, 12, 31))
    assert [(row.team.name, row.week) for row in flagged] == [("Sales EMEA", CHRISTMAS_WEEK)]
    assert "Winter push" in flagged[0].warning


def test_before_it_starts_its_marketer_and_the_teams_managers_are_told_once(org, calendars):
    _plan(org, "Too big", 10_000, ["sam"])
    with time_machine.travel(TODAY, tick=False):
        sent = capacity.flag_overloads(now=clock.now())
        again = capacity.flag_overloads(now=clock.now())
    told = Notification.objects.filter(kind="campaign_overload")
    assert {n.recipient.username for n in told} == {"leo", "sam"}
    assert sent == told.count() == 2 * 3  # three weeks, two people
    assert again == 0
    assert "Sales Americas" in told.first().title


def test_a_campaign_already_running_is_not_flagged_again(org, calendars):
    _plan(org, "Running", 10_000, ["sam"], starts="2026-11-02")
    with time_machine.travel(TODAY, tick=False):
        assert capacity.flag_overloads(now=clock.now()) == 0


@pytest.mark.parametrize("who", ["leo", "sam"])
def test_both_sides_see_the_warning_on_the_calendar(client, org, calendars, who):
    _plan(org, "Too big", 10_000, ["sam"])
    client.force_login(org[who])
    month = client.get(reverse("sla:campaign_calendar"), {"date": "2026-12-01"})
    week = client.get(reverse("sla:campaign_calendar"), {"view": "week", "date": "2026-12-09"})
    for page in (month, week):
        html = page.content.decode()
        assert page.status_code == 200
        assert "More leads expected than the team can take" in html
        assert "10000 leads expected for Sales Americas from Too big" in html
    assert "reps at work" in week.content.decode()


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"date": "someday"}, "A date as YYYY-MM-DD"),
        ({"date": "9999-12-31"}, "Must be between"),
        ({"view": "year"}, "month or week"),
    ],
)
def test_a_calendar_asked_wrongly_is_a_400_saying_why(client, org, query, words):
    client.force_login(org["ravi"])
    response = client.get(reverse("sla:campaign_calendar"), query)
    assert response.status_code == 400
    assert words in response.content.decode()


def test_the_calendar_reads_the_same_queries_however_many_campaigns(
    client, org, calendars, count_queries
):
    client.force_login(org["ravi"])
    _plan(org, "One", 5, ["sam"])
    url = reverse("sla:campaign_calendar") + "?date=2026-12-01"
    client.get(url)  # the calendars' specs are built once, then cached
    one = count_queries(lambda: client.get(url))
    assert one <= 11  # ten, and the reps' time off
    for n in range(4):
        _plan(org, f"More {n}", 5, ["sam", "elena"])
    assert count_queries(lambda: client.get(url)) == one
