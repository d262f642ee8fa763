"""Discarding a draft, for every co-signed document (alignment.cosign.discard): the wrong
person, a stale revision, a draft gone or no longer a draft are each refused plainly, and
nothing is deleted."""

import pytest
from django.core.exceptions import PermissionDenied

from alignment.errors import Conflict
from glossary import platform, services
from glossary.demo import PLATFORM
from glossary.models import FunnelStage
from sla import agreements

GOALS = [{"label": "Everyone", "accept_hours": 8, "first_touch_hours": 16}]


# Each document: a draft by `by`, and its services' keyword, propose and discard.


def definition(by):
    stage = FunnelStage.objects.create(
        key="mql", name="MQL", side="marketing", position=2, is_qualifying=True
    )
    draft = services.draft_create(stage=stage, by=by, threshold=0)
    return draft, "version", services.draft_propose, services.draft_discard


def message_platform(by):
    draft = platform.platform_draft_create(by=by, **PLATFORM)
    return draft, "platform", platform.platform_propose, platform.platform_discard


def agreement(by):
    draft = agreements.agreement_draft_create(by=by, goals=GOALS)
    return draft, "agreement", agreements.agreement_propose, agreements.agreement_discard


DOCUMENTS = [definition, message_platform, agreement]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_a_rep_may_not_discard_a_draft(org, document):
    draft, noun, _, discard = document(org["leo"])
    with pytest.raises(PermissionDenied):
        discard(**{noun: draft}, by=org["ravi"], expected_revision=draft.revision)
    assert type(draft).objects.filter(pk=draft.pk).exists()


@pytest.mark.parametrize("document", DOCUMENTS)
def test_a_draft_saved_since_it_was_read_is_not_discarded(org, document):
    draft, noun, _, discard = document(org["leo"])
    with pytest.raises(Conflict, match="changed since you opened it"):
        discard(**{noun: draft}, by=org["leo"], expected_revision=draft.revision - 1)
    assert type(draft).objects.filter(pk=draft.pk).exists()


@pytest.mark.parametrize("document", DOCUMENTS)
def test_a_draft_discarded_meanwhile_is_a_conflict(org, document):
    draft, noun, _, discard = document(org["leo"])
    discard(**{noun: draft}, by=org["leo"], expected_revision=draft.revision)
    with pytest.raises(Conflict, match="discarded meanwhile"):
        discard(**{noun: draft}, by=org["leo"], expected_revision=draft.revision)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_a_proposal_is_not_discarded(org, document):
    draft, noun, propose, discard = document(org["leo"])
    proposed = propose(**{noun: draft}, by=org["leo"], expected_revision=draft.revision)
    with pytest.raises(Conflict, match="can no longer be discarded"):
        discard(**{noun: proposed}, by=org["leo"], expected_revision=proposed.revision)
    assert type(draft).objects.filter(pk=draft.pk).exists()


def test_an_agreement_draft_another_draft_was_started_from_is_kept(org):
    first, noun, _, discard = agreement(org["leo"])
    agreements.agreement_draft_create(by=org["leo"], based_on=first)
    with pytest.raises(Conflict, match="discard that one first"):
        discard(**{noun: first}, by=org["leo"], expected_revision=first.revision)
    assert type(first).objects.count() == 2
