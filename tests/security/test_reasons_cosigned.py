"""Which rejection reasons apply, and which need a note, is part of the signed definition:
one marketer can no longer switch off sales' ability to reject (issue 9, defect 3)."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from alignment import clock
from glossary import services as glossary_services
from glossary.selectors import reasons_in_force
from leads import ingest
from leads import services as lead_services
from leads.models import Lead
from tests.leads import conftest as leads_fixtures

# The leads' fixtures: a definition in force listing three reasons, teams with territories.
mql_in_force = leads_fixtures.mql_in_force
reasons = leads_fixtures.reasons
territories = leads_fixtures.territories
QUALIFYING = leads_fixtures.QUALIFYING


def hand_off(org, external_id):
    return ingest.lead_ingest(
        data={**QUALIFYING, "external_id": external_id}, by=org["leo"], via="test"
    ).lead


def codes():
    return [r.reason.code for r in reasons_in_force()]


def sign_both(version, org):
    version = glossary_services.proposal_sign(
        version=version, by=org["maya"], expected_revision=version.revision
    )
    return glossary_services.proposal_sign(
        version=version, by=org["sam"], expected_revision=version.revision
    )


def proposal(org, in_force, **changes):
    draft = glossary_services.draft_create(stage=in_force.stage, by=org["leo"], **changes)
    return glossary_services.draft_propose(
        version=draft, by=org["leo"], expected_revision=draft.revision
    )


def test_there_is_no_one_click_retire_for_a_marketer(org, mql_in_force):
    client = Client()
    client.force_login(org["leo"])
    page = client.get(reverse("glossary:index")).content.decode()
    assert "Retire" not in page
    assert client.post("/glossary/reasons/no_budget/active/", {"active": "0"}).status_code == 404
    assert "no_budget" in codes()


def test_a_reason_stops_applying_only_when_both_sides_sign_a_version_without_it(
    org, mql_in_force, territories
):
    version = proposal(org, mql_in_force, rejection_reasons=["not_decision_maker", "other"])
    glossary_services.proposal_sign(
        version=version, by=org["maya"], expected_revision=version.revision
    )
    assert "no_budget" in codes()  # marketing's signature alone changes nothing
    lead = hand_off(org, "R-1")
    lead_services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=clock.now())
    glossary_services.proposal_sign(
        version=version, by=org["sam"], expected_revision=version.revision
    )
    assert codes() == ["not_decision_maker", "other"]
    other = hand_off(org, "R-2")
    with pytest.raises(ValidationError) as refused:
        lead_services.lead_reject(lead=other, by=other.owner, reason="no_budget", now=clock.now())
    assert "reason" in refused.value.message_dict
    # The lead rejected before keeps its reason, readable.
    assert Lead.objects.get(pk=lead.pk).rejection_reason.label == "No budget"


def test_requiring_a_note_takes_effect_with_the_signed_version(org, mql_in_force, territories):
    assert mql_in_force.notes_required == ["other"]  # the catalogue's suggestion
    version = proposal(
        org,
        mql_in_force,
        rejection_reasons=["no_budget", "not_decision_maker", "other"],
        notes_required=["no_budget", "other"],
    )
    lead = hand_off(org, "N-1")
    lead_services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=clock.now())
    sign_both(version, org)
    other = hand_off(org, "N-2")
    with pytest.raises(ValidationError) as refused:
        lead_services.lead_reject(lead=other, by=other.owner, reason="no_budget", now=clock.now())
    assert "note" in refused.value.message_dict
    lead_services.lead_reject(
        lead=other, by=other.owner, reason="no_budget", note="Frozen budget", now=clock.now()
    )


def test_a_note_can_only_be_required_for_a_listed_reason(org, mql_in_force):
    with pytest.raises(ValidationError) as refused:
        glossary_services.draft_create(
            stage=mql_in_force.stage,
            by=org["leo"],
            rejection_reasons=["no_budget"],
            notes_required=["other"],
        )
    assert "notes_required" in refused.value.message_dict


def test_the_editor_saves_which_reasons_need_a_note(org, mql_in_force):
    draft = glossary_services.draft_create(stage=mql_in_force.stage, by=org["leo"])
    client = Client()
    client.force_login(org["leo"])
    url = reverse("glossary:version_edit", args=[draft.pk])
    page = client.get(url).content.decode()
    assert 'name="notes_required" value="other" checked' in page
    reasons_by_code = {r.code: r.pk for r in draft.rejection_reasons.all()}
    post = {
        "revision": draft.revision,
        "threshold": str(draft.threshold),
        "required_fields": "",
        "rejection_reasons": [reasons_by_code["no_budget"], reasons_by_code["other"]],
        "notes_required": ["no_budget"],
        **{
            f"rules-r{i}-{k}": str(v)
            for i, rule in enumerate(draft.rules.all())
            for k, v in {
                "label": rule.label,
                "field": rule.field,
                "operator": rule.operator,
                "value": rule.value if rule.value is not None else "",
                "points": rule.points,
                "kind": rule.kind,
            }.items()
        },
    }
    response = client.post(url, post)
    assert response.status_code == 302, response.content.decode()[:3000]
    draft.refresh_from_db()
    assert draft.notes_required == ["no_budget"]
    assert sorted(r.code for r in draft.rejection_reasons.all()) == ["no_budget", "other"]
    bad = client.post(url, {**post, "revision": draft.revision, "notes_required": ["student"]})
    assert bad.status_code == 400
    assert "not among this version" in bad.content.decode()


def test_the_api_drafts_reasons_and_notes_and_refuses_an_unlisted_note(org, mql_in_force):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(org["leo"])
    made = api.post(
        "/api/v1/glossary/definitions/",
        {"stage": "mql", "rejection_reasons": ["other"], "notes_required": []},
        format="json",
    )
    assert made.status_code == 201, made.content
    assert (made.json()["rejection_reasons"], made.json()["notes_required"]) == (["other"], [])
    bad = api.post(
        "/api/v1/glossary/definitions/",
        {"stage": "mql", "rejection_reasons": ["other"], "notes_required": ["no_budget"]},
        format="json",
    )
    assert bad.status_code == 400
    assert "notes_required" in bad.json()
    listed = api.get("/api/v1/glossary/rejection-reasons/").json()["results"]
    assert {r["code"]: r["in_force"] for r in listed} == {
        "no_budget": True,
        "not_decision_maker": True,
        "other": True,
    }
