"""The replay of an agreement over real history: exact against the live engine, and
what a faster goal would have meant on the demo's leads."""

import datetime as dt
import io
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command

from leads import demo as leads_demo
from sla import demo as sla_demo
from sla import selectors
from sla.models import Clock
from sla.whatif import MAX_DAYS, Period, replay, replay_period, whatif

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 18, 14, 30, tzinfo=dt.UTC)  # a Wednesday afternoon


@pytest.fixture
def demo_history(db, monkeypatch):
    """The demo's history (a third of its leads), played by the live engine up to NOW."""
    monkeypatch.setattr(leads_demo, "LEADS", 200)
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=io.StringIO())
    return selectors.agreement_in_force()


def _everything(now=NOW) -> Period:
    return Period(now.date() - dt.timedelta(days=120), now.date(), now=now)


def test_replaying_the_agreement_in_force_gives_exactly_the_breaches_the_engine_recorded(
    demo_history,
):
    breached = Clock.objects.filter(breached_at__isnull=False)
    recorded = set(breached.values_list("lead_id", "kind", "breached_at"))
    assert len(recorded) > 20  # the demo has breaches of every kind to compare
    (outcome,), _, leads = replay(
        agreements=[demo_history], period=_everything(), keep_breaches=True
    )
    assert leads > 50
    assert set(outcome.breaches) == recorded
    assert len(outcome.breaches) == len(recorded)
    met = Clock.objects.filter(met_at__isnull=False, breached_at__isnull=True).count()
    assert outcome.total.met == met


def test_beside_a_draft_the_agreement_in_force_still_replays_exactly(demo_history, org):
    """Replayed with a draft that changes only 'Everyone else', v1's hot leads are copied
    from the draft's replay of them (same terms): still exactly the engine's breaches."""
    from sla.agreements import agreement_draft_create

    goals = [
        {**g, "accept_hours": 1} if g["label"] == "Everyone else" else g
        for g in sla_demo.DEMO_AGREEMENT_GOALS
    ]
    with time_machine.travel(NOW, tick=False):
        draft = selectors.agreement_detail(agreement_draft_create(by=org["maya"], goals=goals).pk)
    (alone,), _, _ = replay(agreements=[demo_history], period=_everything(), keep_breaches=True)
    (mine, paired), _, _ = replay(
        agreements=[draft, demo_history], period=_everything(), keep_breaches=True
    )
    recorded = set(
        Clock.objects.filter(breached_at__isnull=False).values_list(
            "lead_id", "kind", "breached_at"
        )
    )
    assert set(paired.breaches) == recorded
    assert sorted(paired.breaches) == sorted(alone.breaches)
    assert paired.total == alone.total
    assert paired.goals == alone.goals
    assert paired.when == alone.when
    assert paired.open_at_end == alone.open_at_end
    assert mine.goals[("Hot", "accept")] == alone.goals[("Hot", "accept")]
    assert mine.total.breached > alone.total.breached  # the draft's own clocks differ


def test_a_faster_accept_goal_would_have_breached_more_and_says_where(demo_history, org):
    from sla.agreements import agreement_draft_create

    goals = [
        {**g, "accept_hours": 1} if g["label"] == "Everyone else" else g
        for g in sla_demo.DEMO_AGREEMENT_GOALS
    ]
    with time_machine.travel(NOW, tick=False):
        draft = agreement_draft_create(by=org["maya"], goals=goals)
        period = replay_period(now=NOW)
        result = whatif(
            draft=selectors.agreement_detail(draft.pk), base=demo_history, period=period
        )
    mine, theirs = result["draft"], result["in_force"]
    assert mine["total"]["breached"] > theirs["total"]["breached"]
    accept = {g["label"]: g for g in mine["goals"] if g["kind"] == "accept"}
    before = {g["label"]: g for g in theirs["goals"] if g["kind"] == "accept"}
    assert accept["Everyone else"]["breached"] > before["Everyone else"]["breached"]
    assert accept["Hot"] == before["Hot"]  # an unchanged goal replays the same
    assert result["difference"][0].startswith(
        "With accept within 1 business hour instead of 8 business hours (Everyone else), "
    )
    assert re.search(
        r"\d+% more breaches in Sales \w+ \(\d+ instead of \d+\), "
        r"most on \w+ (morning|afternoon|evening)s\.",
        result["difference"][0],
    )
    assert {row["team_name"] for row in mine["months"]} == {"Sales Americas", "Sales EMEA"}
    assert all(r["attainment"] is not None for r in mine["reps"] if r["met"] + r["breached"])


def test_a_period_with_no_leads_says_so(db, org):
    period = replay_period(start="2020-01-01", end="2020-03-31", now=NOW)
    result = whatif(draft=_in_force_or_draft(org), base=None, period=period)
    assert result["leads"] == 0
    assert result["empty"].startswith("No lead was handed off from 01 Jan 2020 to 31 Mar 2020")


def _in_force_or_draft(org):
    from sla.agreements import agreement_draft_create

    return agreement_draft_create(by=org["maya"], goals=sla_demo.DEMO_AGREEMENT_GOALS)


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        ({"start": "2023-01-01", "end": "2026-11-01"}, "start", f"at most {MAX_DAYS} days"),
        ({"start": "2026-11-10", "end": "2026-11-01"}, "end", "ends before it starts"),
        ({"end": "2026-12-24"}, "end", "must end by today"),
        ({"start": "yesterday"}, "start", "A date as YYYY-MM-DD"),
        ({"teams": ["x"]}, "teams", "is not a team id"),
        ({"teams": [99999]}, "teams", "No sales team has id 99999"),
    ],
)
def test_a_period_that_cannot_be_replayed_is_refused_naming_the_field(db, given, field, words):
    with pytest.raises(ValidationError) as refused:
        replay_period(now=NOW, **given)
    assert words in refused.value.message_dict[field][0]


def test_the_default_period_is_the_last_90_days():
    period = replay_period(now=NOW)
    assert (period.start, period.end, period.days) == (
        dt.date(2026, 8, 21),
        dt.date(2026, 11, 18),
        90,
    )
