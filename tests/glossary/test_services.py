import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from glossary import services
from glossary.models import DefinitionVersion, EventKind, ScoringRule, Signature, VersionStatus
from glossary.selectors import definition_in_force
from tests.glossary.factories import RULES, StageFactory, agreed, draft, proposal
from tests.races import run_together


def statuses(stage):
    return dict(DefinitionVersion.objects.filter(stage=stage).values_list("number", "status"))


def test_a_draft_starts_as_a_copy_of_the_version_in_force(org, mql):
    v1 = agreed(mql, org)
    v2 = services.draft_create(stage=mql, by=org["leo"])
    assert v2.number == 2
    assert v2.based_on == v1
    assert v2.threshold == v1.threshold
    assert [r.field for r in v2.rules.all()] == [r.field for r in v1.rules.all()]
    assert v2.events.get().kind == EventKind.CREATED


def test_a_proposal_is_not_in_force_until_both_sides_sign(org, mql):
    version = proposal(mql, org["leo"])
    version = services.proposal_sign(
        version=version, by=org["maya"], expected_revision=version.revision
    )
    assert version.status == VersionStatus.PROPOSED
    assert definition_in_force("mql") is None
    version = services.proposal_sign(
        version=version, by=org["sam"], expected_revision=version.revision
    )
    assert version.status == VersionStatus.AGREED
    assert version.agreed_at is not None
    assert definition_in_force("mql") == version
    assert sorted(version.signatures.values_list("side", "signed_by__username")) == [
        ("marketing", "maya"),
        ("sales", "sam"),
    ]


def test_the_second_signature_supersedes_the_version_in_force(org, mql):
    v1 = agreed(mql, org)
    v2 = agreed(mql, org, threshold=40)
    assert statuses(mql) == {1: "superseded", 2: "agreed"}
    v1.refresh_from_db()
    assert v1.superseded_at == v2.agreed_at
    assert v1.events.filter(kind=EventKind.SUPERSEDED).exists()


def test_a_manager_cannot_sign_twice_for_the_same_side(org, mql):
    version = proposal(mql, org["leo"])
    version = services.proposal_sign(
        version=version, by=org["sam"], expected_revision=version.revision
    )
    with pytest.raises(services.Conflict, match="already signed"):
        services.proposal_sign(version=version, by=org["elena"], expected_revision=version.revision)


def test_marketers_and_reps_cannot_sign(org, mql):
    version = proposal(mql, org["leo"])
    for username in ("leo", "ravi"):
        with pytest.raises(PermissionDenied):
            services.proposal_sign(
                version=version, by=org[username], expected_revision=version.revision
            )
    assert not Signature.objects.exists()


def test_a_manager_cannot_sign_for_the_other_side(org, mql):
    version = proposal(mql, org["leo"])
    with pytest.raises(PermissionDenied):
        services.proposal_sign(
            version=version, by=org["maya"], side="sales", expected_revision=version.revision
        )


def test_reps_cannot_draft(org, mql):
    with pytest.raises(PermissionDenied):
        draft(mql, org["ravi"])
    assert not DefinitionVersion.objects.exists()


def test_an_invalid_draft_writes_nothing(org, mql):
    bad = [*RULES, {"field": "x", "operator": "in", "value": 3, "points": 5}]
    with pytest.raises(ValidationError) as caught:
        draft(mql, org["leo"], rules=bad)
    assert "rules[3].value" in caught.value.message_dict
    assert not DefinitionVersion.objects.exists()
    assert not ScoringRule.objects.exists()


def test_an_invalid_edit_leaves_the_draft_as_it_was(org, mql):
    version = draft(mql, org["leo"])
    with pytest.raises(ValidationError):
        services.draft_update(
            version=version,
            by=org["leo"],
            expected_revision=version.revision,
            rules=RULES,
            threshold=1000,
            required_fields=[],
        )
    version.refresh_from_db()
    assert version.threshold == 30
    assert version.revision == 1
    assert version.rules.count() == len(RULES)


def test_an_edit_from_a_stale_page_is_refused(org, mql):
    version = draft(mql, org["leo"])
    services.draft_update(
        version=version,
        by=org["nina"],
        expected_revision=1,
        rules=RULES,
        threshold=35,
        required_fields=[],
    )
    with pytest.raises(services.Conflict, match="changed since you opened it"):
        services.draft_update(
            version=version,
            by=org["leo"],
            expected_revision=1,
            rules=RULES,
            threshold=40,
            required_fields=[],
        )
    version.refresh_from_db()
    assert version.threshold == 35


def test_in_force_versions_are_never_edited(org, mql):
    version = agreed(mql, org)
    with pytest.raises(services.Conflict, match="can no longer be edited"):
        services.draft_update(
            version=version,
            by=org["leo"],
            expected_revision=version.revision,
            rules=RULES,
            threshold=40,
            required_fields=[],
        )
    version.refresh_from_db()
    assert version.threshold == 30


def test_sending_back_returns_the_proposal_to_draft_with_the_comment(org, mql):
    version = proposal(mql, org["leo"])
    version = services.proposal_sign(
        version=version, by=org["maya"], expected_revision=version.revision
    )
    version = services.proposal_send_back(
        version=version, by=org["sam"], comment="Too loose for EMEA."
    )
    assert version.status == VersionStatus.DRAFT
    assert not version.signatures.exists()
    event = version.events.get(kind=EventKind.SENT_BACK)
    assert (event.actor, event.comment) == (org["sam"], "Too loose for EMEA.")
    assert event.data == {"lapsed_signatures": ["marketing"]}


def test_sending_back_needs_a_comment(org, mql):
    version = proposal(mql, org["leo"])
    with pytest.raises(ValidationError):
        services.proposal_send_back(version=version, by=org["sam"], comment="  ")
    version.refresh_from_db()
    assert version.status == VersionStatus.PROPOSED


def test_a_signature_on_an_outdated_reading_is_refused(org, mql):
    version = proposal(mql, org["leo"])
    read_at = version.revision
    services.proposal_send_back(version=version, by=org["sam"], comment="Change it.")
    version.refresh_from_db()
    services.draft_propose(version=version, by=org["leo"], expected_revision=version.revision)
    with pytest.raises(services.Conflict, match="changed since you opened it"):
        services.proposal_sign(version=version, by=org["maya"], expected_revision=read_at)


def test_a_proposal_drafted_before_another_came_into_force_cannot_be_signed(org, mql):
    first = proposal(mql, org["leo"])
    second = proposal(mql, org["nina"], threshold=40)
    agreed_first = services.proposal_sign(
        version=first, by=org["maya"], expected_revision=first.revision
    )
    services.proposal_sign(version=agreed_first, by=org["sam"], expected_revision=first.revision)
    with pytest.raises(services.Conflict, match="came into force after this proposal"):
        services.proposal_sign(version=second, by=org["maya"], expected_revision=second.revision)


def test_the_database_refuses_a_second_agreed_version(org, mql):
    agreed(mql, org)
    other = proposal(mql, org["leo"])
    with pytest.raises(IntegrityError), transaction.atomic():
        DefinitionVersion.objects.filter(pk=other.pk).update(
            status="agreed", agreed_at=other.created_at
        )


def test_the_database_refuses_edits_of_an_agreed_version(org, mql):
    version = agreed(mql, org)
    with pytest.raises(IntegrityError), transaction.atomic():
        DefinitionVersion.objects.filter(pk=version.pk).update(threshold=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        version.rules.update(points=99)


def test_discarding_a_draft_deletes_it_and_only_drafts_can_be_discarded(org, mql):
    version = draft(mql, org["leo"])
    services.draft_discard(version=version, by=org["leo"], expected_revision=version.revision)
    assert not DefinitionVersion.objects.exists()
    in_force = agreed(mql, org)
    with pytest.raises(services.Conflict):
        services.draft_discard(version=in_force, by=org["leo"], expected_revision=in_force.revision)


def test_a_discarded_draft_is_recorded_on_the_version_it_was_based_on(org, mql):
    first = agreed(mql, org)
    version = draft(mql, org["leo"], summary="Stricter")
    services.draft_discard(version=version, by=org["leo"], expected_revision=version.revision)
    assert statuses(mql) == {1: "agreed"}
    trail = first.events.get(kind=EventKind.DRAFT_DISCARDED)
    assert (trail.actor, trail.data) == (org["leo"], {"number": 2, "summary": "Stricter"})


def test_a_discarded_first_draft_leaves_no_trail(org, mql):
    version = draft(mql, org["leo"])
    services.draft_discard(version=version, by=org["leo"], expected_revision=version.revision)
    assert not DefinitionVersion.objects.exists()


def test_a_stage_without_definitions_refuses_drafts(org):
    stage = StageFactory(key="won", is_qualifying=False)
    with pytest.raises(ValidationError):
        draft(stage, org["leo"])


def test_a_draft_copies_the_reasons_and_notes_in_force_unless_given(org, mql):
    from tests.glossary.factories import ReasonFactory

    reason = ReasonFactory(requires_note=True)
    version = draft(mql, org["leo"], rejection_reasons=[reason.code])
    assert (list(version.rejection_reasons.all()), version.notes_required) == (
        [reason],
        [reason.code],
    )


# -- real concurrent sessions -----------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_sales_managers_completing_rival_proposals_leave_one_in_force(org, mql, attempt):
    agreed(mql, org)
    first = proposal(mql, org["leo"], threshold=35)
    second = proposal(mql, org["nina"], threshold=40)
    first = services.proposal_sign(version=first, by=org["maya"], expected_revision=first.revision)
    second = services.proposal_sign(
        version=second, by=org["maya"], expected_revision=second.revision
    )
    outcomes = run_together(
        lambda: services.proposal_sign(
            version=first, by=org["sam"], expected_revision=first.revision
        ),
        lambda: services.proposal_sign(
            version=second, by=org["elena"], expected_revision=second.revision
        ),
    )
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["error", "ok"]
    loser = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(loser, services.Conflict)
    assert "came into force" in str(loser)
    assert DefinitionVersion.objects.filter(stage=mql, status="agreed").count() == 1
    assert DefinitionVersion.objects.filter(stage=mql, status="superseded").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_both_managers_signing_at_once_put_the_version_in_force_once(org, mql):
    agreed(mql, org)
    version = proposal(mql, org["leo"], threshold=35)
    outcomes = run_together(
        lambda: services.proposal_sign(
            version=version, by=org["maya"], expected_revision=version.revision
        ),
        lambda: services.proposal_sign(
            version=version, by=org["sam"], expected_revision=version.revision
        ),
    )
    assert [kind for kind, _ in outcomes] == ["ok", "ok"]
    assert statuses(mql) == {1: "superseded", 2: "agreed"}
    assert version.events.filter(kind=EventKind.AGREED).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_send_back_racing_a_signature_never_leaves_a_signed_draft(org, mql):
    agreed(mql, org)
    version = proposal(mql, org["leo"], threshold=35)
    version = services.proposal_sign(
        version=version, by=org["maya"], expected_revision=version.revision
    )
    outcomes = run_together(
        lambda: services.proposal_sign(
            version=version, by=org["sam"], expected_revision=version.revision
        ),
        lambda: services.proposal_send_back(
            version=version, by=org["elena"], comment="Wait.", expected_revision=version.revision
        ),
    )
    version.refresh_from_db()
    assert sorted(kind for kind, _ in outcomes) == ["error", "ok"]
    loser = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(loser, services.Conflict)
    if version.status == VersionStatus.AGREED:
        assert statuses(mql) == {1: "superseded", 2: "agreed"}
    else:
        assert version.status == VersionStatus.DRAFT
        assert not version.signatures.exists()
        assert statuses(mql) == {1: "agreed", 2: "draft"}
