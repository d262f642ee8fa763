"""Four eyes: the two signatures that put a version in force come from two different
people, whatever their permissions. The demo admin is a superuser and may sign for
either side, but never for both on one version (issue 9, defect 4)."""

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from alignment import clock
from alignment.cosign import FourEyes
from glossary import services as glossary_services
from glossary.models import FunnelStage, Signature
from sla import agreements
from sla.models import AgreementSignature

GOALS = [{"label": "Everyone", "accept_hours": 8, "first_touch_hours": 16}]


@pytest.fixture
def definition(org):
    stage = FunnelStage.objects.create(
        key="mql", name="MQL", side="marketing", position=2, is_qualifying=True
    )
    leo = org["leo"]
    version = glossary_services.draft_create(stage=stage, by=leo, threshold=0)
    return glossary_services.draft_propose(
        version=version, by=leo, expected_revision=version.revision
    )


@pytest.fixture
def agreement(org):
    version = agreements.agreement_draft_create(by=org["maya"], goals=GOALS, now=clock.now())
    return agreements.agreement_propose(
        agreement=version, by=org["maya"], expected_revision=version.revision, now=clock.now()
    )


def test_the_admin_cannot_sign_a_definition_for_both_sides(org, definition):
    admin = org["admin"]
    glossary_services.proposal_sign(
        version=definition, by=admin, side="marketing", expected_revision=definition.revision
    )
    with pytest.raises(FourEyes, match="must come from someone else"):
        glossary_services.proposal_sign(
            version=definition, by=admin, side="sales", expected_revision=definition.revision
        )
    definition.refresh_from_db()
    assert definition.status == "proposed"
    assert [s.side for s in definition.signatures.all()] == ["marketing"]
    # Someone else's signature still puts it in force.
    version = glossary_services.proposal_sign(
        version=definition, by=org["sam"], expected_revision=definition.revision
    )
    assert version.status == "agreed"


def test_the_admin_cannot_sign_an_agreement_for_both_sides(org, agreement):
    admin = org["admin"]
    agreements.agreement_sign(
        agreement=agreement, by=admin, side="sales", expected_revision=agreement.revision
    )
    with pytest.raises(FourEyes):
        agreements.agreement_sign(
            agreement=agreement, by=admin, side="marketing", expected_revision=agreement.revision
        )
    agreement.refresh_from_db()
    assert agreement.status == "proposed"


def test_the_database_refuses_one_person_signing_a_definition_twice(org, definition):
    admin = org["admin"]
    row = {"version": definition, "signed_by": admin, "signed_at": clock.now(), "revision": 2}
    Signature.objects.create(side="marketing", **row)
    with pytest.raises(IntegrityError), transaction.atomic():
        Signature.objects.create(side="sales", **row)


def test_the_database_refuses_one_person_signing_an_agreement_twice(org, agreement):
    admin = org["admin"]
    row = {"agreement": agreement, "signed_by": admin, "signed_at": clock.now(), "revision": 2}
    AgreementSignature.objects.create(side="marketing", **row)
    with pytest.raises(IntegrityError), transaction.atomic():
        AgreementSignature.objects.create(side="sales", **row)


@pytest.mark.parametrize("kind", ["definition", "agreement"])
def test_the_api_answers_409_to_a_second_signature_by_the_same_person(
    org, definition, agreement, kind
):
    api = APIClient()
    api.force_authenticate(org["admin"])
    version = definition if kind == "definition" else agreement
    url = (
        f"/api/v1/glossary/definitions/{version.pk}/sign/"
        if kind == "definition"
        else f"/api/v1/sla/agreements/{version.pk}/sign/"
    )
    first = api.post(url, {"revision": version.revision, "side": "marketing"}, format="json")
    assert first.status_code == 200, first.content
    second = api.post(url, {"revision": version.revision, "side": "sales"}, format="json")
    assert second.status_code == 409
    assert "must come from someone else" in second.json()["detail"]
    version.refresh_from_db()
    assert version.status == "proposed"


@pytest.mark.parametrize("kind", ["definition", "agreement"])
def test_the_sign_page_tells_the_same_person_to_find_the_other_side(
    org, definition, agreement, kind
):
    client = Client()
    client.force_login(org["admin"])
    version = definition if kind == "definition" else agreement
    url = (
        reverse("glossary:version_sign", args=[version.pk])
        if kind == "definition"
        else reverse("sla:agreement_sign", args=[version.pk])
    )
    client.post(url, {"revision": version.revision, "side": "sales"})
    response = client.post(url, {"revision": version.revision, "side": "marketing"}, follow=True)
    assert "must come from someone else" in response.content.decode()
    version.refresh_from_db()
    assert version.status == "proposed"
