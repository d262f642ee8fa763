"""`make run` shows every state of a new lead in each rep's inbox, whenever it is
started: in time (green), past the warning (amber), past the deadline (red)."""

import datetime as dt
import io
import re

import pytest
import time_machine
from django.urls import reverse

from alignment.models import User
from glossary.demo import seed_demo as seed_glossary
from leads.models import Territory
from sla import demo as sla_demo
from sla.scan import scan

pytestmark = pytest.mark.django_db

REPS = ["ravi", "carmen", "tom", "jonas", "amelie", "luca"]

# Tuesday 15:00 UTC: both teams at work; Saturday 03:00 UTC: nobody is;
# Tuesday 22:30 UTC: New York still at work (17:30 is after 17:00: closed), Berlin asleep.
MOMENTS = [
    dt.datetime(2026, 11, 17, 15, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 17, 22, 30, tzinfo=dt.UTC),
]


@pytest.fixture
def demo_rules(org):
    seed_glossary()
    sla_demo.seed_demo(stdout=io.StringIO())  # calendars and agreement v1
    for country, manager in [("United States", "sam"), ("*", "elena")]:
        Territory.objects.get_or_create(country=country, defaults={"team": org[manager].team})


def inbox_states(client, username: str) -> set[str]:
    client.force_login(User.objects.get(username=username))
    html = client.get(reverse("leads:inbox")).content.decode()
    return set(re.findall(r'class="time-left [^"]*" data-state="(\w+)"', html))


@pytest.mark.parametrize("now", MOMENTS, ids=["working-hours", "weekend-night", "evening"])
def test_every_rep_sees_a_green_an_amber_and_a_red_lead(client, demo_rules, now):
    with time_machine.travel(now, tick=False):
        sla_demo.seed_fresh_leads(now=now)
        scan()
        for username in REPS:
            assert inbox_states(client, username) >= {"ok", "warning", "breached"}, username


def test_a_day_later_the_missing_states_are_topped_up_and_nothing_else(client, demo_rules):
    first = MOMENTS[0]
    with time_machine.travel(first, tick=False) as traveller:
        made = sla_demo.seed_fresh_leads(now=first)
        assert made == 3 * len(REPS)
        scan()
        assert sla_demo.seed_fresh_leads(now=first) == 0  # run again: nothing missing
        traveller.move_to(first + dt.timedelta(days=1))
        scan()  # yesterday's leads moved on: amber to red, green to amber or red
        later = sla_demo.seed_fresh_leads(now=first + dt.timedelta(days=1))
        # One round (a lead per rep of a team) per state a team's rep lacks, no more.
        assert later % 3 == 0
        assert 0 < later < made
        scan()
        for username in REPS:
            assert inbox_states(client, username) >= {"ok", "warning", "breached"}, username
