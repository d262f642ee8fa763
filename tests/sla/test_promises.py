"""The agreement's plain words and the engine cannot disagree.

Every field of the agreement's models (the agreement, its goals, its
commitments, its pause conditions) is either a promise, with what enforces it
(sla.promises.PROMISES), or bookkeeping (NOT_PROMISES). For every promise this
walk changes the field and shows two things: the plain words change (the
promise is written down) and what the engine does changes (it is kept). A new
field in neither table, or a promise without a probe here, fails.
"""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps

from alignment import clock
from alignment.models import Team, User
from alignment.services import member_set_away
from leads import ingest
from leads import services as lead_services
from leads.stages import Stage
from leads.validation import clean_lead_input
from sla import commitment, pauses, selectors
from sla.calendars import CalendarSpec
from sla.clocks import abandon_problems
from sla.deadlines import clock_plan
from sla.models import (
    Agreement,
    AgreementStatus,
    Clock,
    ClockKind,
    PauseCondition,
    SalesGoal,
    TeamCommitment,
)
from sla.promises import NOT_CONTENT, NOT_PROMISES, PROMISES
from sla.scan import _Context, _escalation_due
from tests.leads.conftest import QUALIFYING
from tests.sla.engine import MONDAY_10_NY, hand_off

NINE_TO_FIVE = CalendarSpec(
    "America/New_York", dict.fromkeys(range(5), [(dt.time(9), dt.time(17))])
)

GOAL = {
    "label": "Everyone",
    "min_score": None,
    "match_field": "",
    "match_values": [],
    "accept_hours": Decimal(8),
    "first_touch_hours": Decimal(16),
    "min_attempts": 3,
    "attempt_days": 4,
    "followup_days": 3,
    "followup_through": "opportunity",
    "warn_percent": 75,
}
TERMS = {
    "min_acceptance_rate": 70,
    "max_incomplete_rate": 5,
    "escalation_hours": Decimal(4),
    "assign_hours": Decimal(4),
    "pause_when_away": True,
    "restart_on_reassign": True,
    "clock_calendar": "team",
}
AMERICAS = Team(pk=901, name="Sales Americas")
EMEA = Team(pk=902, name="Sales EMEA")
COMMITMENT = {"team": AMERICAS, "monthly_mqls": 40}
CONDITION = {"label": "Waiting on the prospect", "max_days": 5}

# For each promise, the same agreement twice, this field aside: changes to the base above
# for the first, and for the second.
VARIANTS = {
    ("SalesGoal", "min_score"): ({}, {"min_score": 80}),
    ("SalesGoal", "match_field"): (
        {"match_field": "title", "match_values": ["Canada"]},
        {"match_field": "country", "match_values": ["Canada"]},
    ),
    ("SalesGoal", "match_values"): (
        {"match_field": "country", "match_values": ["Mexico"]},
        {"match_field": "country", "match_values": ["Canada"]},
    ),
    ("SalesGoal", "accept_hours"): ({}, {"accept_hours": Decimal(2)}),
    ("SalesGoal", "first_touch_hours"): ({}, {"first_touch_hours": Decimal(4)}),
    ("SalesGoal", "min_attempts"): ({}, {"min_attempts": 5}),
    ("SalesGoal", "attempt_days"): ({}, {"attempt_days": 8}),
    ("SalesGoal", "followup_days"): ({}, {"followup_days": None}),
    ("SalesGoal", "followup_through"): ({}, {"followup_through": "sal"}),
    ("SalesGoal", "warn_percent"): ({}, {"warn_percent": 50}),
    ("Agreement", "min_acceptance_rate"): ({}, {"min_acceptance_rate": 90}),
    ("Agreement", "max_incomplete_rate"): ({}, {"max_incomplete_rate": 20}),
    ("Agreement", "escalation_hours"): ({}, {"escalation_hours": Decimal(8)}),
    ("Agreement", "assign_hours"): ({}, {"assign_hours": Decimal(8)}),
    ("Agreement", "pause_when_away"): ({}, {"pause_when_away": False}),
    ("Agreement", "restart_on_reassign"): ({}, {"restart_on_reassign": False}),
    ("Agreement", "clock_calendar"): ({}, {"clock_calendar": "rep"}),
    ("TeamCommitment", "team"): ({}, {"team": EMEA}),
    ("TeamCommitment", "monthly_mqls"): ({}, {"monthly_mqls": 60}),
    ("PauseCondition", "label"): ({}, {"label": "Waiting on legal review"}),
    ("PauseCondition", "max_days"): ({}, {"max_days": 10}),
}


class _Rel(list):
    def all(self):
        return self


def agreement_of(model: str = "", changes: dict | None = None) -> SimpleNamespace:
    """The base agreement, in memory, with some fields of one of its parts changed."""
    parts = {
        "SalesGoal": dict(GOAL),
        "Agreement": dict(TERMS),
        "TeamCommitment": dict(COMMITMENT),
        "PauseCondition": dict(CONDITION),
    }
    if model:
        parts[model].update(changes or {})
    # A goal with a segment comes first, and the catch-all after it.
    goal = SalesGoal(pk=1, position=0, **parts["SalesGoal"])
    if goal.min_score is not None or goal.match_field:
        goals = [goal, SalesGoal(pk=2, position=1, **{**GOAL, "label": "Everyone else"})]
    else:
        goals = [goal]
    team = parts["TeamCommitment"].pop("team")
    return SimpleNamespace(
        pk=1,
        **parts["Agreement"],
        goals=_Rel(goals),
        commitments=_Rel([TeamCommitment(team=team, team_id=team.pk, **parts["TeamCommitment"])]),
        pause_conditions=_Rel([PauseCondition(pk=1, position=0, **parts["PauseCondition"])]),
    )


def plain_words(agreement) -> list:
    return [
        [(p["segment"], p["promise"]) for p in selectors.sales_promises(agreement)],
        selectors.marketing_promises(agreement),
        selectors.shared_rules(agreement),
    ]


# -- what the engine does with each promise -------------------------------------------------

START = MONDAY_10_NY


def _goal(agreement):
    return agreement.goals[0]


def _plan(agreement, kind, **lead):
    found = clock_plan(NINE_TO_FIVE, _goal(agreement), kind, START, **lead)
    return found and (found.hours, found.warn_at, found.due_at)


def _segment(agreement):
    # Which goal a lead scoring 75 from Canada gets.
    lead = {"score": 75, "fields": {"country": "Canada"}, "attributes": {}}
    return selectors.goal_for(agreement, **lead).label


def _abandon(agreement):
    # Three attempts, the first three business days ago.
    return abandon_problems(
        _goal(agreement),
        spec=NINE_TO_FIVE,
        touches=3,
        first_touch_at=START,
        now=START + dt.timedelta(days=3),
    )


def _attempts(agreement):
    return _abandon(agreement), _plan(agreement, ClockKind.FOLLOW_UP, touches=1)


def _marketing_month(agreement):
    # Sales Americas' month: 10 MQLs delivered, 80% of them accepted; none, or one, of them
    # missing required fields; a quarter of the month gone, or all of it.
    target = commitment.committed_mqls(agreement, AMERICAS.pk)
    return [
        commitment.judge(
            agreement,
            target=target,
            expected=round(target / 4),
            delivered=10,
            rate=Decimal(80),
            incomplete=incomplete,
            is_final=final,
        )
        for incomplete in (0, 1)
        for final in (False, True)
    ] + [target]


def _escalation(agreement):
    ctx = _Context(specs={1: NINE_TO_FIVE}, escalation={agreement.pk: agreement.escalation_hours})
    return _escalation_due({"team_id": 1, "agreement_id": agreement.pk, "due_at": START}, ctx)


def _pause_maximum(agreement):
    return pauses.pause_ends_at(NINE_TO_FIVE, START, agreement.pause_conditions[0])


def _in_force(org, agreement) -> Agreement:
    """The in-memory agreement as rows, in force (the one before it superseded)."""
    now = clock.now()
    Agreement.objects.filter(status=AgreementStatus.AGREED).update(
        status=AgreementStatus.SUPERSEDED, superseded_at=now
    )
    number = (Agreement.objects.order_by("-number").values_list("number", flat=True).first()) or 0
    row = Agreement.objects.create(
        number=number + 1,
        created_by=org["maya"],
        created_at=now,
        updated_at=now,
        **{name: getattr(agreement, name) for name in TERMS},
    )
    for goal in agreement.goals:
        goal.pk, goal.agreement = None, row
        goal.save()
    for condition in agreement.pause_conditions:
        condition.pk, condition.agreement = None, row
        condition.save()
    Agreement.objects.filter(pk=row.pk).update(status=AgreementStatus.AGREED, agreed_at=now)
    return row


def _accepted(org, agreement, external_id):
    _in_force(org, agreement)
    lead = hand_off(org, external_id)
    lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    return lead


def _away(request, agreement):
    org = request.getfixturevalue("org")
    lead = _accepted(org, agreement, f"AWAY-{agreement.pause_when_away}")
    member_set_away(member=lead.owner, away=True, by=org["sam"])
    state = Clock.objects.get(lead=lead, kind=ClockKind.FIRST_TOUCH).state
    member_set_away(member=lead.owner, away=False, by=org["sam"])
    return state


def _queued(request, agreement):
    """With every rep of the team full, a new lead waits under the assignment clock."""
    org = request.getfixturevalue("org")
    _in_force(org, agreement)
    User.objects.filter(team=org["ravi"].team).update(capacity=0)
    data, errors = clean_lead_input(
        {**QUALIFYING, "external_id": f"QUEUED-{agreement.assign_hours}"}
    )
    lead = ingest.lead_ingest(data=data, by=org["leo"], now=clock.now()).lead
    assert lead.owner is None
    return Clock.objects.get(lead=lead, kind=ClockKind.ASSIGNMENT).due_at


def _reassign(request, agreement):
    org = request.getfixturevalue("org")
    lead = _accepted(org, agreement, f"MOVE-{agreement.restart_on_reassign}")
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != lead.owner)
    lead_services.lead_reassign(lead=lead, by=org["sam"], to=other, now=clock.now())
    return Clock.objects.filter(lead=lead, kind=ClockKind.FIRST_TOUCH).count()


def _pause_reason(request, agreement):
    org = request.getfixturevalue("org")
    lead = _accepted(org, agreement, f"WAIT-{agreement.pause_conditions[0].label[-6:]}")
    offered = pauses.conditions_for(lead)
    made = pauses.lead_pause(
        lead=lead, by=lead.owner, condition=offered[0].pk, note="Back next week.", now=clock.now()
    )
    return [c.label for c in offered], made.reason


def _whose_hours(request, agreement):
    """A rep who works 07:00-11:00 New York time: under "rep" their accept clock counts
    their hours, under "team" the team's 09:00-17:00."""
    org = request.getfixturevalue("org")
    User.objects.filter(team=org["ravi"].team).update(
        time_zone="America/New_York",
        working_hours=dict.fromkeys(("mon", "tue"), ["07:00", "11:00"]),
    )
    lead = _accepted(org, agreement, f"HOURS-{agreement.clock_calendar}")
    return Clock.objects.get(lead=lead, kind=ClockKind.FIRST_TOUCH).due_at


# (model, field) -> what the engine does, from an agreement (and the test's fixtures when a
# probe needs the database: it runs the lead through the services).
PROBES = {
    ("SalesGoal", "min_score"): _segment,
    ("SalesGoal", "match_field"): _segment,
    ("SalesGoal", "match_values"): _segment,
    ("SalesGoal", "accept_hours"): lambda a: _plan(a, ClockKind.ACCEPT),
    ("SalesGoal", "first_touch_hours"): lambda a: _plan(a, ClockKind.FIRST_TOUCH),
    ("SalesGoal", "min_attempts"): _attempts,
    ("SalesGoal", "attempt_days"): _attempts,
    ("SalesGoal", "followup_days"): lambda a: _plan(a, ClockKind.FOLLOW_UP, touches=5),
    ("SalesGoal", "followup_through"): lambda a: _plan(
        a, ClockKind.FOLLOW_UP, stage=Stage.SQL, touches=5
    ),
    ("SalesGoal", "warn_percent"): lambda a: _plan(a, ClockKind.ACCEPT),
    ("Agreement", "min_acceptance_rate"): _marketing_month,
    ("Agreement", "max_incomplete_rate"): _marketing_month,
    ("Agreement", "escalation_hours"): _escalation,
    ("Agreement", "assign_hours"): _queued,
    ("Agreement", "pause_when_away"): _away,
    ("Agreement", "restart_on_reassign"): _reassign,
    ("Agreement", "clock_calendar"): _whose_hours,
    ("TeamCommitment", "team"): _marketing_month,
    ("TeamCommitment", "monthly_mqls"): _marketing_month,
    ("PauseCondition", "label"): _pause_reason,
    ("PauseCondition", "max_days"): _pause_maximum,
}
NEEDS_DATABASE = {_away, _queued, _reassign, _pause_reason, _whose_hours}


def _fields(model: str) -> set[str]:
    return {f.name for f in apps.get_model("sla", model)._meta.concrete_fields}


@pytest.mark.parametrize("model", sorted(PROMISES))
def test_every_field_of_the_agreement_is_a_promise_with_its_enforcement_or_bookkeeping(model):
    promised, bookkeeping = set(PROMISES[model]), set(NOT_PROMISES[model])
    assert not promised & bookkeeping
    unaccounted = _fields(model) - promised - bookkeeping
    assert not unaccounted, (
        f"{model}.{', '.join(sorted(unaccounted))}: say in sla/promises.py what enforces it "
        "(PROMISES), or why it promises nothing (NOT_PROMISES)"
    )
    assert promised | bookkeeping <= _fields(model), "a field the model no longer has"


def test_every_part_of_an_agreement_is_walked():
    """A new model hanging off the agreement is content to walk, or named as not content."""
    parts = {
        rel.related_model.__name__
        for rel in Agreement._meta.related_objects
        if rel.related_model._meta.app_label == "sla"
    }
    assert parts - NOT_CONTENT == set(PROMISES) - {"Agreement"}


@pytest.mark.parametrize(
    ("model", "field"),
    [(m, f) for m, fields in sorted(PROMISES.items()) for f in sorted(fields)],
)
def test_each_promise_is_written_in_plain_words_and_kept_by_the_engine(
    request, model, field, org, mql_in_force, territories, at_monday
):
    assert (model, field) in PROBES, f"{model}.{field}: show here what enforces it"
    base, other = (agreement_of(model, changes) for changes in VARIANTS[(model, field)])
    assert plain_words(base) != plain_words(other), f"{model}.{field} is not written down"
    probe = PROBES[(model, field)]
    if probe in NEEDS_DATABASE:
        kept = probe(request, base), probe(request, other)
    else:
        kept = probe(base), probe(other)
    assert kept[0] != kept[1], f"{model}.{field}: the engine does the same either way"
