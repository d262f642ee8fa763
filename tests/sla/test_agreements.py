"""Agreements: drafted by either side, co-signed by a manager of each, never edited in force."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from alignment.models import Team
from sla import agreements
from sla.agreements import Conflict, EventKind
from sla.models import Agreement, AgreementEvent, AgreementStatus, SalesGoal, TeamCommitment
from sla.selectors import agreement_in_force, goal_for
from tests.races import run_together

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)

HOT = {
    "label": "Hot",
    "min_score": 60,
    "match_field": "Lead Origin",
    "match_values": ["Lead Add Form"],
    "accept_hours": 1,
    "first_touch_hours": 2,
}
REST = {"label": "Everyone else", "accept_hours": 8, "first_touch_hours": 16}


def goals(*extra):
    return [dict(HOT), *[dict(g) for g in extra], dict(REST)]


def commitments(**mqls_by_team):
    return [
        {"team": Team.objects.get(name=name), "monthly_mqls": mqls}
        for name, mqls in mqls_by_team.items()
    ]


def draft(by, **changes):
    changes.setdefault("goals", goals())
    return agreements.agreement_draft_create(by=by, now=NOW, **changes)


def proposal(by, **changes):
    version = draft(by, **changes)
    return agreements.agreement_propose(
        agreement=version, by=by, expected_revision=version.revision, now=NOW
    )


def in_force(org, by=None, **changes):
    version = proposal(by or org["maya"], **changes)
    agreements.agreement_sign(
        agreement=version, by=org["maya"], expected_revision=version.revision, now=NOW
    )
    return agreements.agreement_sign(
        agreement=version, by=org["sam"], expected_revision=version.revision, now=NOW
    )


def statuses():
    return dict(Agreement.objects.order_by("number").values_list("number", "status"))


def errors_of(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


# -- the happy path ---------------------------------------------------------------------


def test_a_draft_proposed_and_signed_by_both_sides_comes_into_force(org):
    version = proposal(org["maya"], commitments=commitments(**{"Sales Americas": 40}))
    assert version.status == AgreementStatus.PROPOSED
    version = agreements.agreement_sign(
        agreement=version, by=org["maya"], expected_revision=version.revision
    )
    assert version.status == AgreementStatus.PROPOSED, "one side is not enough"
    version = agreements.agreement_sign(
        agreement=version, by=org["sam"], expected_revision=version.revision
    )
    assert version.status == AgreementStatus.AGREED
    assert version.agreed_at is not None
    assert {s.side for s in version.signatures.all()} == {"marketing", "sales"}
    kinds = list(version.events.values_list("kind", flat=True))
    assert kinds == ["created", "proposed", "signed", "signed", "agreed"]


def test_the_second_agreement_supersedes_the_first_in_one_step(org):
    first = in_force(org)
    second = in_force(org, summary="Faster hot leads", goals=goals())
    first.refresh_from_db()
    assert (first.status, second.status) == ("superseded", "agreed")
    assert first.superseded_at is not None
    assert second.based_on == first
    assert first.events.filter(kind=EventKind.SUPERSEDED, data__by_version=2).exists()


def test_a_new_draft_copies_the_agreement_in_force(org):
    first = in_force(
        org,
        commitments=commitments(**{"Sales Americas": 40, "Sales EMEA": 60}),
        min_acceptance_rate=80,
    )
    copy = agreements.agreement_draft_create(by=org["leo"])
    assert copy.number == 2
    assert copy.based_on == first
    assert copy.min_acceptance_rate == 80
    assert copy.summary == ""
    assert [g.label for g in copy.goals.all()] == ["Hot", "Everyone else"]
    assert copy.goals.get(label="Hot").match_values == ["Lead Add Form"]
    assert {(c.team.name, c.monthly_mqls) for c in copy.commitments.all()} == {
        ("Sales Americas", 40),
        ("Sales EMEA", 60),
    }


def test_a_sales_manager_drafts_too_both_sides_negotiate(org):
    version = draft(org["sam"])
    assert version.created_by == org["sam"]
    agreements.agreement_propose(agreement=version, by=org["sam"], expected_revision=1)


def test_editing_a_draft_replaces_its_goals_and_commitments_and_bumps_the_revision(org):
    version = draft(org["leo"], commitments=commitments(**{"Sales EMEA": 10}))
    faster = dict(HOT, accept_hours="0.5")
    version = agreements.agreement_draft_update(
        agreement=version,
        by=org["elena"],
        expected_revision=1,
        goals=[faster, REST],
        commitments=commitments(**{"Sales Americas": 20}),
        summary="Half an hour",
    )
    assert version.revision == 2
    assert version.summary == "Half an hour"
    assert version.goals.get(label="Hot").accept_hours == Decimal("0.50")
    assert [c.team.name for c in version.commitments.all()] == ["Sales Americas"]
    assert version.events.filter(kind=EventKind.EDITED).count() == 1


def test_an_update_that_omits_goals_keeps_them(org):
    version = draft(org["leo"])
    agreements.agreement_draft_update(
        agreement=version, by=org["leo"], expected_revision=1, escalation_hours=6
    )
    assert SalesGoal.objects.filter(agreement=version).count() == 2


def test_sending_back_returns_a_proposal_to_draft_and_lapses_signatures(org):
    version = proposal(org["leo"])
    agreements.agreement_sign(agreement=version, by=org["maya"], expected_revision=2)
    version = agreements.agreement_send_back(
        agreement=version, by=org["sam"], comment="Eight hours is too short for EMEA."
    )
    assert version.status == AgreementStatus.DRAFT
    assert not version.signatures.exists()
    event = version.events.get(kind=EventKind.SENT_BACK)
    assert (event.comment, event.data) == (
        "Eight hours is too short for EMEA.",
        {"lapsed_signatures": ["marketing"]},
    )


def test_discarding_a_draft_deletes_it_and_leaves_a_trail_on_the_version_in_force(org):
    first = in_force(org)
    version = agreements.agreement_draft_create(by=org["leo"])
    agreements.agreement_discard(agreement=version, by=org["leo"], expected_revision=1)
    assert statuses() == {1: "agreed"}
    trail = first.events.get(kind=EventKind.DRAFT_DISCARDED)
    assert (trail.actor, trail.data["number"]) == (org["leo"], 2)


def test_only_drafts_can_be_discarded(org):
    version = in_force(org)
    with pytest.raises(Conflict, match="can no longer be discarded"):
        agreements.agreement_discard(
            agreement=version, by=org["maya"], expected_revision=version.revision
        )


def test_every_action_leaves_an_event_with_its_actor(org):
    version = proposal(org["leo"])
    agreements.agreement_send_back(agreement=version, by=org["elena"], comment="No")
    version.refresh_from_db()
    agreements.agreement_propose(
        agreement=version, by=org["leo"], expected_revision=version.revision
    )
    version.refresh_from_db()
    agreements.agreement_sign(agreement=version, by=org["maya"], expected_revision=version.revision)
    agreements.agreement_sign(agreement=version, by=org["sam"], expected_revision=version.revision)
    rows = list(AgreementEvent.objects.values_list("kind", "actor__username"))
    assert rows == [
        ("created", "leo"),
        ("proposed", "leo"),
        ("sent_back", "elena"),
        ("proposed", "leo"),
        ("signed", "maya"),
        ("signed", "sam"),
        ("agreed", "sam"),
    ]


# -- validation: every message, nothing half-written --------------------------------------


@pytest.mark.parametrize(
    ("goal_changes", "key", "message"),
    [
        ({"accept_hours": 0}, "goals[0].accept_hours", "more than 0 and less than 1000"),
        ({"accept_hours": 1000}, "goals[0].accept_hours", "more than 0 and less than 1000"),
        ({"accept_hours": "soon"}, "goals[0].accept_hours", "must be a number of business hours"),
        ({"accept_hours": ""}, "goals[0].accept_hours", "give a number of business hours"),
        ({"accept_hours": "1.005"}, "goals[0].accept_hours", "at most two decimals"),
        ({"first_touch_hours": -2}, "goals[0].first_touch_hours", "more than 0"),
        ({"warn_percent": 0}, "goals[0].warn_percent", "between 1 and 99"),
        ({"warn_percent": 100}, "goals[0].warn_percent", "between 1 and 99"),
        ({"min_attempts": 0}, "goals[0].min_attempts", "between 1 and 50"),
        ({"min_attempts": 51}, "goals[0].min_attempts", "between 1 and 50"),
        ({"min_attempts": "three"}, "goals[0].min_attempts", "must be a whole number"),
        ({"attempt_days": 61}, "goals[0].attempt_days", "between 0 and 60"),
        ({"attempt_days": -1}, "goals[0].attempt_days", "between 0 and 60"),
        ({"followup_days": 0}, "goals[0].followup_days", "between 1 and 60"),
        ({"label": " "}, "goals[0].label", "give the goal a name"),
        ({"label": "x" * 101}, "goals[0].label", "longer than 100"),
        ({"match_values": "Lead Add Form"}, "goals[0].match_values", "a list of text"),
        ({"match_values": [1, 2]}, "goals[0].match_values", "a list of text"),
        ({"match_values": []}, "goals[0].match_values", "list the values of “Lead Origin”"),
        ({"match_field": "", "min_score": None}, "goals[0]", "matches every lead"),
        ({"match_field": ""}, "goals[0].match_field", "name the field these values"),
        ({"min_score": "high"}, "goals[0].min_score", "must be a whole number"),
        ({"colour": "red"}, "goals[0]", "unknown fields: colour"),
    ],
)
def test_a_bad_goal_is_refused_with_a_message_naming_it(org, goal_changes, key, message):
    bad = dict(HOT, **goal_changes)
    found = errors_of(lambda: draft(org["leo"], goals=[bad, REST]))
    assert key in found, found
    assert message in " ".join(found[key])
    if key != "goals[0]":
        assert any("Goal 1" in m for m in found[key]), "the message names the goal"
    assert not Agreement.objects.exists()


def test_the_third_goal_is_named_in_its_error_key(org):
    warm = dict(HOT, label="Warm", min_score=40, accept_hours=2000)
    found = errors_of(lambda: draft(org["leo"], goals=[HOT, HOT, warm, REST]))
    assert found == {
        "goals[2].accept_hours": [
            "Goal 3 (“Warm”): accept or reject within must be more than 0 and less than "
            "1000 business hours."
        ]
    }


def test_an_agreement_needs_at_least_one_goal(org):
    found = errors_of(lambda: draft(org["leo"], goals=[]))
    assert found == {"goals": ["Add at least one goal: the catch-all for every lead."]}


def test_the_last_goal_must_be_a_catch_all(org):
    found = errors_of(lambda: draft(org["leo"], goals=[HOT]))
    assert "The last goal must be the catch-all" in found["goals"][0]


def test_a_catch_all_before_the_last_goal_is_refused(org):
    found = errors_of(lambda: draft(org["leo"], goals=[REST, HOT, REST]))
    assert "Goal 1 (“Everyone else”) matches every lead" in found["goals[0]"][0]


def test_goals_must_be_a_list_of_goals(org):
    assert errors_of(lambda: draft(org["leo"], goals="fast"))["goals"] == ["needs a list of goals."]
    assert errors_of(lambda: draft(org["leo"], goals=["fast", REST]))["goals[0]"] == [
        "needs a goal with a label and hours."
    ]


@pytest.mark.parametrize(
    ("fields", "key", "message"),
    [
        ({"min_acceptance_rate": 101}, "min_acceptance_rate", "between 0 and 100"),
        ({"min_acceptance_rate": -1}, "min_acceptance_rate", "between 0 and 100"),
        ({"max_incomplete_rate": 120}, "max_incomplete_rate", "between 0 and 100"),
        ({"escalation_hours": 0}, "escalation_hours", "more than 0"),
        ({"escalation_hours": 1000}, "escalation_hours", "less than 1000"),
        ({"summary": "x" * 201}, "summary", "200 characters"),
        ({"pause_when_away": "maybe"}, "pause_when_away", "true or false"),
    ],
)
def test_bad_agreement_terms_are_refused_by_field(org, fields, key, message):
    found = errors_of(lambda: draft(org["leo"], **fields))
    assert message in " ".join(found[key])
    assert not Agreement.objects.exists()


def test_commitments_are_for_sales_teams_once_each_within_bounds(org):
    americas = Team.objects.get(name="Sales Americas")
    marketing = Team.objects.get(name="Marketing")
    found = errors_of(
        lambda: draft(
            org["leo"],
            commitments=[
                {"team": americas, "monthly_mqls": 40},
                {"team": americas, "monthly_mqls": 50},
                {"team": marketing, "monthly_mqls": 5},
                {"team": 999999, "monthly_mqls": 5},
                {"team": Team.objects.get(name="Sales EMEA"), "monthly_mqls": 100001},
            ],
        )
    )
    assert found == {
        "commitments[1].team": [
            "Commitment 2: Sales Americas already has a commitment (commitment 1)."
        ],
        "commitments[2].team": [
            "Commitment 3: Marketing is not a sales team; marketing commits MQLs to sales teams."
        ],
        "commitments[3].team": ["Commitment 4: no such team."],
        "commitments[4].monthly_mqls": [
            "Commitment 5 (Sales EMEA): MQLs a month must be between 0 and 100000."
        ],
    }
    assert not TeamCommitment.objects.exists()


def test_every_problem_is_reported_at_once(org):
    found = errors_of(
        lambda: draft(
            org["leo"],
            min_acceptance_rate=200,
            goals=[dict(HOT, warn_percent=0), dict(REST, min_attempts=0)],
        )
    )
    assert set(found) == {"min_acceptance_rate", "goals[0].warn_percent", "goals[1].min_attempts"}


def test_a_bad_update_writes_nothing(org):
    version = draft(org["leo"])
    with pytest.raises(ValidationError):
        agreements.agreement_draft_update(
            agreement=version,
            by=org["leo"],
            expected_revision=1,
            goals=[dict(HOT, accept_hours=0), REST],
            summary="Changed",
        )
    version.refresh_from_db()
    assert (version.revision, version.summary) == (1, "")
    assert version.goals.get(label="Hot").accept_hours == Decimal("1.00")


# -- permissions ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["ravi", "ada"])
def test_reps_and_arbiters_may_not_draft(org, who):
    with pytest.raises(PermissionDenied):
        draft(org[who])
    assert not Agreement.objects.exists()


def test_a_rep_may_not_edit_propose_or_discard(org):
    version = draft(org["leo"])
    with pytest.raises(PermissionDenied):
        agreements.agreement_draft_update(
            agreement=version, by=org["ravi"], expected_revision=1, summary="x"
        )
    with pytest.raises(PermissionDenied):
        agreements.agreement_propose(agreement=version, by=org["ravi"], expected_revision=1)
    with pytest.raises(PermissionDenied):
        agreements.agreement_discard(agreement=version, by=org["ravi"], expected_revision=1)


@pytest.mark.parametrize("who", ["ravi", "leo", "ada"])
def test_only_managers_sign_or_send_back(org, who):
    version = proposal(org["leo"])
    with pytest.raises(PermissionDenied):
        agreements.agreement_sign(agreement=version, by=org[who], expected_revision=2)
    with pytest.raises(PermissionDenied):
        agreements.agreement_send_back(agreement=version, by=org[who], comment="No")
    assert not version.signatures.exists()


def test_a_manager_may_not_sign_for_the_other_side(org):
    version = proposal(org["leo"])
    with pytest.raises(PermissionDenied, match="may not sign for sales"):
        agreements.agreement_sign(
            agreement=version, by=org["maya"], expected_revision=2, side="sales"
        )


def test_one_side_signs_once(org):
    version = proposal(org["leo"])
    agreements.agreement_sign(agreement=version, by=org["sam"], expected_revision=2)
    with pytest.raises(Conflict, match="Sam Rivera already signed Agreement v1 for sales"):
        agreements.agreement_sign(agreement=version, by=org["elena"], expected_revision=2)


def test_sending_back_needs_a_comment(org):
    version = proposal(org["leo"])
    assert errors_of(
        lambda: agreements.agreement_send_back(agreement=version, by=org["sam"], comment=" ")
    ) == {"comment": ["Say what should change, so the author knows."]}


# -- in force means frozen ------------------------------------------------------------------


def test_an_agreement_in_force_is_never_edited(org):
    version = in_force(org)
    with pytest.raises(Conflict, match="v1 is in force now, so it can no longer be edited"):
        agreements.agreement_draft_update(
            agreement=version,
            by=org["maya"],
            expected_revision=version.revision,
            goals=[dict(HOT, accept_hours=2), REST],
        )
    assert version.goals.get(label="Hot").accept_hours == Decimal("1.00")
    assert version.events.filter(kind=EventKind.EDITED).count() == 0


def test_a_proposal_is_not_edited_either_and_a_superseded_one_neither(org):
    first = in_force(org)
    second = proposal(org["leo"])
    for version in (first, second):
        with pytest.raises(Conflict, match="can no longer be edited"):
            agreements.agreement_draft_update(
                agreement=version, by=org["leo"], expected_revision=version.revision, summary="x"
            )
    in_force(org)
    first.refresh_from_db()
    with pytest.raises(Conflict, match="superseded now"):
        agreements.agreement_draft_update(
            agreement=first, by=org["leo"], expected_revision=first.revision, summary="x"
        )


def test_the_database_refuses_a_second_agreement_in_force(org):
    in_force(org)
    other = proposal(org["leo"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.filter(pk=other.pk).update(status="agreed")


# -- conflicts: the loser is told plainly ------------------------------------------------------


def test_an_edit_from_an_old_page_is_refused(org):
    version = draft(org["leo"])
    agreements.agreement_draft_update(agreement=version, by=org["maya"], expected_revision=1)
    with pytest.raises(Conflict, match="changed since you opened it"):
        agreements.agreement_draft_update(
            agreement=version, by=org["leo"], expected_revision=1, summary="mine"
        )


def test_signing_a_version_that_changed_since_it_was_read_is_refused(org):
    version = proposal(org["leo"])
    agreements.agreement_send_back(agreement=version, by=org["sam"], comment="No")
    version.refresh_from_db()
    agreements.agreement_propose(
        agreement=version, by=org["leo"], expected_revision=version.revision
    )
    with pytest.raises(Conflict, match="changed since you opened it"):
        agreements.agreement_sign(agreement=version, by=org["maya"], expected_revision=2)


def test_signing_what_is_already_in_force_says_so(org):
    version = in_force(org)
    with pytest.raises(Conflict, match="already in force: someone signed it just before you"):
        agreements.agreement_sign(
            agreement=version, by=org["elena"], expected_revision=version.revision
        )


def test_signing_a_draft_says_it_is_not_waiting(org):
    version = draft(org["leo"])
    with pytest.raises(Conflict, match="draft now, no longer waiting for signatures"):
        agreements.agreement_sign(agreement=version, by=org["maya"], expected_revision=1)


def test_a_proposal_drafted_before_another_came_into_force_cannot_be_signed(org):
    in_force(org)
    first = proposal(org["leo"], summary="A")
    second = proposal(org["maya"], summary="B")
    agreements.agreement_sign(agreement=first, by=org["maya"], expected_revision=2)
    agreements.agreement_sign(agreement=first, by=org["sam"], expected_revision=2)
    with pytest.raises(Conflict, match="Agreement v2 came into force after this proposal"):
        agreements.agreement_sign(agreement=second, by=org["maya"], expected_revision=2)


def test_a_sent_back_proposal_saved_again_sits_on_the_version_in_force(org):
    first = in_force(org)
    stale = proposal(org["leo"], summary="Stale")
    newer = in_force(org, summary="Newer")
    agreements.agreement_send_back(agreement=stale, by=org["sam"], comment="Rebase it")
    stale.refresh_from_db()
    stale = agreements.agreement_draft_update(
        agreement=stale, by=org["leo"], expected_revision=stale.revision
    )
    assert stale.based_on == newer != first
    stale = agreements.agreement_propose(
        agreement=stale, by=org["leo"], expected_revision=stale.revision
    )
    agreements.agreement_sign(agreement=stale, by=org["maya"], expected_revision=stale.revision)
    agreements.agreement_sign(agreement=stale, by=org["sam"], expected_revision=stale.revision)
    assert statuses() == {1: "superseded", 2: "agreed", 3: "superseded"}


def test_proposing_twice_is_a_conflict(org):
    version = proposal(org["leo"])
    with pytest.raises(Conflict, match="changed since you opened it|proposed now"):
        agreements.agreement_propose(agreement=version, by=org["leo"], expected_revision=1)


# -- the selectors the clock engine reads ------------------------------------------------------


def test_no_agreement_in_force_reads_as_none(org):
    draft(org["leo"])
    assert agreement_in_force() is None


def test_the_agreement_in_force_comes_with_goals_and_commitments_in_three_queries(
    org, django_assert_num_queries
):
    in_force(org, commitments=commitments(**{"Sales EMEA": 60}))
    proposal(org["leo"])
    with django_assert_num_queries(3):
        found = agreement_in_force()
        assert [g.label for g in found.goals.all()] == ["Hot", "Everyone else"]
        assert [c.team.name for c in found.commitments.all()] == ["Sales EMEA"]
    assert found.number == 1


@pytest.fixture
def segmented(org):
    return in_force(
        org,
        goals=[
            {"label": "Score only", "min_score": 80, "accept_hours": 1, "first_touch_hours": 1},
            {
                "label": "Field only",
                "match_field": "Lead Origin",
                "match_values": ["Lead Add Form", "Demo request"],
                "accept_hours": 2,
                "first_touch_hours": 2,
            },
            {
                "label": "Either",
                "min_score": 50,
                "match_field": "country",
                "match_values": ["Germany"],
                "accept_hours": 3,
                "first_touch_hours": 3,
            },
            REST,
        ],
    )


@pytest.mark.parametrize(
    ("score", "fields", "attributes", "expected"),
    [
        (95, {}, {}, "Score only"),
        (80, {}, {}, "Score only"),
        (79, {}, {}, "Either"),
        (10, {}, {"Lead Origin": "Lead Add Form"}, "Field only"),
        (10, {}, {"Lead Origin": "  lead ADD form "}, "Field only"),
        (10, {}, {"Lead Origin": "demo REQUEST"}, "Field only"),
        (90, {}, {"Lead Origin": "Lead Add Form"}, "Score only"),
        (10, {"country": "germany"}, {}, "Either"),
        (None, {"country": "GERMANY"}, {}, "Either"),
        (10, {"country": "France"}, {"Lead Origin": "API"}, "Everyone else"),
        (None, {}, {}, "Everyone else"),
        (49, {}, {"Lead Origin": None}, "Everyone else"),
    ],
)
def test_goal_for_takes_the_first_segment_that_matches(
    segmented, score, fields, attributes, expected
):
    agreement = agreement_in_force()
    assert goal_for(agreement, score=score, fields=fields, attributes=attributes).label == expected


def test_goal_for_reads_no_database_once_the_goals_are_prefetched(
    segmented, django_assert_num_queries
):
    agreement = agreement_in_force()
    with django_assert_num_queries(0):
        for score in range(0, 100, 7):
            goal_for(agreement, score=score, fields={}, attributes={"Lead Origin": "x"})


def test_a_lead_field_is_matched_before_an_attribute_of_the_same_name(org):
    in_force(
        org,
        goals=[
            {
                "label": "US",
                "match_field": "country",
                "match_values": ["US"],
                "accept_hours": 1,
                "first_touch_hours": 1,
            },
            REST,
        ],
    )
    agreement = agreement_in_force()
    found = goal_for(agreement, score=0, fields={"country": "us"}, attributes={"country": "DE"})
    assert found.label == "US"


# -- real concurrent sessions ----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_both_managers_signing_at_once_put_the_proposal_in_force_once(org, attempt):
    in_force(org)
    version = proposal(org["leo"], summary="Raced")
    outcomes = run_together(
        lambda: agreements.agreement_sign(
            agreement=version, by=org["maya"], expected_revision=version.revision
        ),
        lambda: agreements.agreement_sign(
            agreement=version, by=org["sam"], expected_revision=version.revision
        ),
    )
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert statuses() == {1: "superseded", 2: "agreed"}
    assert version.events.filter(kind=EventKind.AGREED).count() == 1
    assert version.signatures.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_rival_proposals_completing_at_once_leave_one_in_force(org, attempt):
    in_force(org)
    first = proposal(org["leo"], summary="First")
    second = proposal(org["nina"], summary="Second")
    agreements.agreement_sign(agreement=first, by=org["maya"], expected_revision=2)
    agreements.agreement_sign(agreement=second, by=org["maya"], expected_revision=2)
    outcomes = run_together(
        lambda: agreements.agreement_sign(agreement=first, by=org["sam"], expected_revision=2),
        lambda: agreements.agreement_sign(agreement=second, by=org["elena"], expected_revision=2),
    )
    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    loser = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(loser, Conflict)
    assert "came into force after this proposal was drafted from v1" in str(loser)
    assert Agreement.objects.filter(status="agreed").count() == 1
    assert Agreement.objects.filter(status="superseded").count() == 1
    assert Agreement.objects.filter(status="proposed").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_the_very_first_two_proposals_completing_at_once_leave_one_in_force(org, attempt):
    # Nothing is in force to lock on: the agreements lock alone keeps them apart.
    first = proposal(org["leo"], summary="First")
    second = proposal(org["nina"], summary="Second")
    agreements.agreement_sign(agreement=first, by=org["maya"], expected_revision=2)
    agreements.agreement_sign(agreement=second, by=org["maya"], expected_revision=2)
    outcomes = run_together(
        lambda: agreements.agreement_sign(agreement=first, by=org["sam"], expected_revision=2),
        lambda: agreements.agreement_sign(agreement=second, by=org["elena"], expected_revision=2),
    )
    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    loser = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(loser, Conflict)
    assert "came into force after this proposal was drafted." in str(loser)
    assert Agreement.objects.filter(status="agreed").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_drafts_started_at_once_get_different_numbers(org):
    outcomes = run_together(lambda: draft(org["leo"]), lambda: draft(org["sam"]))
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert sorted(Agreement.objects.values_list("number", flat=True)) == [1, 2]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_send_back_racing_the_last_signature_never_leaves_a_signed_draft(org):
    in_force(org)
    version = proposal(org["leo"])
    agreements.agreement_sign(agreement=version, by=org["maya"], expected_revision=2)
    outcomes = run_together(
        lambda: agreements.agreement_sign(agreement=version, by=org["sam"], expected_revision=2),
        lambda: agreements.agreement_send_back(
            agreement=version, by=org["elena"], comment="Wait.", expected_revision=2
        ),
    )
    version.refresh_from_db()
    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
    assert isinstance(next(v for k, v in outcomes if k == "error"), Conflict)
    if version.status == AgreementStatus.AGREED:
        assert statuses() == {1: "superseded", 2: "agreed"}
    else:
        assert version.status == AgreementStatus.DRAFT
        assert not version.signatures.exists()
        assert statuses() == {1: "agreed", 2: "draft"}


def test_someone_who_may_sign_for_both_sides_says_which(org):
    version = proposal(org["leo"])
    # The admin is a superuser: every capability, so both sides.
    assert errors_of(
        lambda: agreements.agreement_sign(agreement=version, by=org["admin"], expected_revision=2)
    ) == {"side": ["Say which side you sign for."]}
    agreements.agreement_sign(agreement=version, by=org["admin"], expected_revision=2, side="sales")
    assert [s.side for s in version.signatures.all()] == ["sales"]


def test_the_database_refuses_to_edit_an_agreement_in_force_or_its_goals(agreement):
    from django.db import IntegrityError, transaction

    from sla.models import Agreement, SalesGoal

    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.filter(pk=agreement.pk).update(min_acceptance_rate=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        SalesGoal.objects.filter(agreement=agreement).update(accept_hours=100)
    with pytest.raises(IntegrityError), transaction.atomic():
        SalesGoal.objects.filter(agreement=agreement).delete()
    # Superseding is the one change allowed.
    Agreement.objects.filter(pk=agreement.pk).update(status="superseded")
