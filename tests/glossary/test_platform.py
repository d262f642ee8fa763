"""The message platform: the third co-signed document, drafted, signed by both sides and
put in force through the same pages and API as definitions and agreements; read by
everyone; a rep sees what their lead's persona should hear."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from glossary import platform
from glossary.demo import PLATFORM
from glossary.models import MessagePlatform, PersonaMessages
from leads import ingest
from tests.glossary.factories import TermFactory
from tests.leads import conftest as leads_fixtures

mql_in_force = leads_fixtures.mql_in_force
reasons = leads_fixtures.reasons
territories = leads_fixtures.territories

API = "/api/v1/glossary/message-platform"
STUDENT = PLATFORM["personas"][1]


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def in_force(org, **changes):
    draft = platform.platform_draft_create(by=org["leo"], **{**PLATFORM, **changes})
    draft = platform.platform_propose(platform=draft, by=org["leo"], expected_revision=1)
    draft = platform.platform_sign(platform=draft, by=org["maya"], expected_revision=2)
    return platform.platform_sign(platform=draft, by=org["sam"], expected_revision=2)


def test_drafted_proposed_and_signed_through_the_api_it_comes_into_force(org):
    first = in_force(org)
    made = api(org["leo"]).post(API + "/", {"summary": "Sharper"}, format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert [p["persona"] for p in body["personas"]] == [p["persona"] for p in PLATFORM["personas"]]
    pk = body["id"]
    proposed = api(org["leo"]).post(f"{API}/{pk}/propose/", {"revision": 1}, format="json")
    assert proposed.json()["status"] == "proposed"
    api(org["maya"]).post(f"{API}/{pk}/sign/", {"revision": 2}, format="json")
    signed = api(org["sam"]).post(f"{API}/{pk}/sign/", {"revision": 2}, format="json")
    assert signed.json()["status"] == "agreed"
    first.refresh_from_db()
    assert first.status == "superseded"
    listed = api(org["ravi"]).get(API + "/", {"status": "agreed"}).json()["results"]
    assert [v["id"] for v in listed] == [pk]


def test_one_person_cannot_sign_the_platform_for_both_sides(org):
    draft = platform.platform_draft_create(by=org["leo"], **PLATFORM)
    draft = platform.platform_propose(platform=draft, by=org["leo"], expected_revision=1)
    url = f"{API}/{draft.pk}/sign/"
    admin = api(org["admin"])
    assert admin.post(url, {"revision": 2, "side": "sales"}, format="json").status_code == 200
    again = admin.post(url, {"revision": 2, "side": "marketing"}, format="json")
    assert again.status_code == 409
    draft.refresh_from_db()
    assert draft.status == "proposed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"personas": [{"persona": "Student"}]}, "personas[0].key_messages"),
        ({"personas": [{"persona": "", "key_messages": "x"}]}, "personas[0].persona"),
        (
            {"personas": [{"persona": "A", "key_messages": "x", "match_field": "x"}]},
            "personas[0].match_field",
        ),
        ({"personas": [{"persona": "A" * 81, "key_messages": "x"}]}, "personas[0].persona"),
        ({"personas": [{"persona": "A", "key_messages": "x", "mood": "y"}]}, "personas[0]"),
        ({"personas": "Student"}, "personas"),
        ({"status": "agreed"}, "status"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(org, body, field):
    response = api(org["leo"]).post(API + "/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not MessagePlatform.objects.exists()


def test_a_platform_without_a_value_proposition_cannot_be_proposed(org):
    draft = platform.platform_draft_create(by=org["leo"], personas=[STUDENT])
    response = api(org["leo"]).post(f"{API}/{draft.pk}/propose/", {"revision": 1}, format="json")
    assert response.status_code == 400
    assert "value_proposition" in response.json()


def test_a_rep_reads_but_may_not_draft_and_a_marketer_may_not_sign(org, client):
    draft = platform.platform_draft_create(by=org["leo"], **PLATFORM)
    assert api(org["ravi"]).get(f"{API}/{draft.pk}/").status_code == 200
    assert api(org["ravi"]).post(API + "/", {}, format="json").status_code == 403
    sign = api(org["leo"]).post(f"{API}/{draft.pk}/sign/", {"revision": 1}, format="json")
    assert sign.status_code == 403
    client.force_login(org["ravi"])
    assert client.get(reverse("glossary:platform_edit", args=[draft.pk])).status_code == 403
    assert client.get(reverse("glossary:platform")).status_code == 200


def test_the_pages_draft_edit_propose_and_sign_it(org, client):
    in_force(org)
    client.force_login(org["leo"])
    response = client.post(reverse("glossary:platform_new"))
    draft = MessagePlatform.objects.get(status="draft")
    assert response["Location"] == reverse("glossary:platform_edit", args=[draft.pk])
    page = client.get(response["Location"]).content.decode()
    assert 'name="personas-3-persona"' in page  # three personas and an empty row
    post = {
        "revision": draft.revision,
        "summary": "Add SMB owners",
        "value_proposition": PLATFORM["value_proposition"],
        "personas-0-persona": "Business owner",
        "personas-0-match_field": "What is your current occupation",
        "personas-0-match_values": "Businessman",
        "personas-0-key_messages": "Train your team in weeks.",
    }
    bad = client.post(
        reverse("glossary:platform_edit", args=[draft.pk]), {**post, "personas-0-key_messages": ""}
    )
    assert bad.status_code == 400
    assert "personas[0].key_messages" in bad.content.decode()
    saved = client.post(reverse("glossary:platform_edit", args=[draft.pk]), post)
    assert saved.status_code == 302
    assert [p.persona for p in PersonaMessages.objects.filter(platform=draft)] == ["Business owner"]
    client.post(reverse("glossary:platform_propose", args=[draft.pk]), {"revision": 2})
    for manager in ("maya", "sam"):
        client.force_login(org[manager])
        client.post(reverse("glossary:platform_sign", args=[draft.pk]), {"revision": 3})
    draft.refresh_from_db()
    assert draft.status == "agreed"
    page = client.get(reverse("glossary:platform")).content.decode()
    assert "Train your team in weeks." in page


def test_a_discarded_draft_is_recorded_on_the_platform_it_was_based_on(org, client):
    first = in_force(org)
    draft = platform.platform_draft_create(by=org["leo"], summary="Sharper")
    client.force_login(org["leo"])
    url = reverse("glossary:platform_discard", args=[draft.pk])
    assert "cannot be undone" in client.get(url).content.decode()
    response = client.post(url, {"revision": draft.revision})
    assert response["Location"] == reverse("glossary:platform")
    assert list(MessagePlatform.objects.values_list("number", flat=True)) == [1]
    trail = first.events.get(kind="draft_discarded")
    assert (trail.actor, trail.data) == (org["leo"], {"number": 2, "summary": "Sharper"})


def test_an_agreed_platform_and_its_personas_are_frozen_in_the_database(org):
    agreed = in_force(org)
    with pytest.raises(IntegrityError), transaction.atomic():
        MessagePlatform.objects.filter(pk=agreed.pk).update(value_proposition="Cheaper.")
    with pytest.raises(IntegrityError), transaction.atomic():
        PersonaMessages.objects.filter(platform=agreed).update(key_messages="Anything.")


def test_a_rep_sees_what_their_leads_persona_should_hear(
    org, client, mql_in_force, territories, count_queries
):
    in_force(org)
    data = {
        **leads_fixtures.QUALIFYING,
        "external_id": "P-1",
        "attributes": {"What is your current occupation": "student"},
    }
    lead = ingest.lead_ingest(data=data, by=org["leo"], via="test").lead
    client.force_login(lead.owner)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "What to say" in page
    assert STUDENT["key_messages"] in page
    assert PLATFORM["personas"][0]["key_messages"] not in page


def test_a_term_the_platform_uses_links_to_it(org, client):
    term = TermFactory(name="Certificate")
    in_force(org)
    client.force_login(org["ravi"])
    page = client.get(reverse("glossary:term", args=[term.slug])).content.decode()
    assert reverse("glossary:platform") in page
    other = TermFactory(name="Churn")
    page = client.get(reverse("glossary:term", args=[other.slug])).content.decode()
    assert "the message platform" not in page


def test_the_platform_page_makes_a_bounded_number_of_queries(org, client, count_queries):
    in_force(org)
    client.force_login(org["ravi"])
    client.get(reverse("glossary:platform"))  # the terms' link cache fills once
    few = count_queries(lambda: client.get(reverse("glossary:platform")))
    for n in range(5):
        in_force(org, summary=f"v{n}")
    assert count_queries(lambda: client.get(reverse("glossary:platform"))) == few
