"""The public API: every status code the issue lists, and the OpenAPI schema."""

import pytest
from rest_framework.test import APIClient

from alignment import tokens
from leads.models import Lead, LeadEvent
from tests.leads.conftest import NOT_QUALIFYING, QUALIFYING

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(org):
    def as_user(username):
        client = APIClient()
        client.force_authenticate(org[username])
        return client

    return as_user


@pytest.fixture
def integration(org):
    """An integration authenticates with a token, as a marketing system would."""
    _, secret = tokens.token_create(user=org["leo"], name="integration")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def post_lead(client, **overrides):
    return client.post("/api/v1/leads/", {**QUALIFYING, **overrides}, format="json")


def test_a_qualifying_lead_is_created_scored_and_handed_to_a_rep(
    integration, mql_in_force, territories
):
    response = post_lead(integration, external_id="A-1")
    assert response.status_code == 201
    body = response.json()
    assert body["stage"] == "mql"
    assert body["score"] == 90
    assert body["owner"]["username"] in {"ravi", "carmen", "tom"}
    lead = Lead.objects.get(pk=body["id"])
    assert lead.definition_version == mql_in_force
    assert list(lead.events.values_list("kind", flat=True)) == ["ingested", "handed_off"]


def test_a_lead_below_the_threshold_stays_an_inquiry(integration, mql_in_force, territories):
    response = integration.post("/api/v1/leads/", NOT_QUALIFYING, format="json")
    assert response.status_code == 201
    assert response.json()["stage"] == "inquiry"
    assert response.json()["owner"] is None


def test_sending_the_same_lead_again_returns_it_with_200_and_updates_attributes(
    integration, mql_in_force, territories
):
    first = post_lead(integration, external_id="A-2")
    again = post_lead(integration, external_id="A-2", attributes={"TotalVisits": "9", "New": "x"})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    lead = Lead.objects.get(pk=first.json()["id"])
    assert lead.attributes == {"TotalVisits": "9", "New": "x"}
    assert Lead.objects.count() == 1
    retry = post_lead(integration, external_id="A-2", attributes={"TotalVisits": "9", "New": "x"})
    assert retry.status_code == 200
    assert lead.events.count() == 3  # ingested, handed_off, updated: the retry adds nothing


def test_a_field_error_answers_400_naming_the_field_and_writes_nothing(integration, mql_in_force):
    response = post_lead(integration, email="not-an-email", surname="x")
    assert response.status_code == 400
    assert "email" in response.json()
    assert "surname" in response.json()
    missing = integration.post("/api/v1/leads/", {"title": "x"}, format="json")
    assert missing.status_code == 400
    assert "source" in missing.json()
    assert Lead.objects.count() == 0
    assert LeadEvent.objects.count() == 0


def test_a_rep_may_not_ingest(api, mql_in_force):
    assert post_lead(api("ravi")).status_code == 403


def test_unauthenticated_requests_are_refused(mql_in_force):
    assert APIClient().post("/api/v1/leads/", QUALIFYING, format="json").status_code in (401, 403)


def _handed(integration, external_id):
    body = post_lead(integration, external_id=external_id).json()
    return Lead.objects.select_related("owner").get(pk=body["id"])


def test_owner_accepts_then_a_second_accept_answers_409_with_the_stage(
    api, integration, mql_in_force, territories
):
    lead = _handed(integration, "A-3")
    owner = api(lead.owner.username)
    response = owner.post(f"/api/v1/leads/{lead.pk}/accept/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["stage"] == "sal"
    again = owner.post(f"/api/v1/leads/{lead.pk}/accept/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["stage"] == "sal"


def test_another_rep_gets_403_on_someone_elses_lead(api, integration, mql_in_force, territories):
    lead = _handed(integration, "A-4")
    other = next(u for u in ("ravi", "carmen", "tom") if u != lead.owner.username)
    response = api(other).post(f"/api/v1/leads/{lead.pk}/accept/", {}, format="json")
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.stage == "mql"


def test_reject_needs_a_known_reason_and_a_note_where_the_reason_asks(
    api, integration, mql_in_force, territories
):
    lead = _handed(integration, "A-5")
    owner = api(lead.owner.username)
    url = f"/api/v1/leads/{lead.pk}/reject/"
    assert owner.post(url, {}, format="json").json().keys() >= {"reason"}
    unknown = owner.post(url, {"reason": "nope"}, format="json")
    assert unknown.status_code == 400
    assert "reason" in unknown.json()
    needs_note = owner.post(url, {"reason": "other"}, format="json")
    assert needs_note.status_code == 400
    assert "note" in needs_note.json()
    lead.refresh_from_db()
    assert lead.stage == "mql"
    done = owner.post(url, {"reason": "other", "note": "Wrong product"}, format="json")
    assert done.status_code == 200
    assert done.json()["stage"] == "nurture"
    assert done.json()["rejection_reason"] == "other"


def test_touches_qualify_close_won_with_amount(api, integration, mql_in_force, territories):
    lead = _handed(integration, "A-6")
    owner = api(lead.owner.username)
    base = f"/api/v1/leads/{lead.pk}"
    assert (
        owner.post(
            f"{base}/touches/", {"kind": "call", "outcome": "connected"}, format="json"
        ).status_code
        == 409
    )  # not accepted yet
    owner.post(f"{base}/accept/", {}, format="json")
    bad = owner.post(f"{base}/touches/", {"kind": "fax", "outcome": "connected"}, format="json")
    assert bad.status_code == 400
    assert "kind" in bad.json()
    ok = owner.post(f"{base}/touches/", {"kind": "call", "outcome": "connected"}, format="json")
    assert ok.status_code == 200
    assert owner.post(f"{base}/qualify/", {}, format="json").json()["stage"] == "sql"
    no_amount = owner.post(f"{base}/close/", {"outcome": "won"}, format="json")
    assert no_amount.status_code == 400
    assert "amount" in no_amount.json()
    won = owner.post(f"{base}/close/", {"outcome": "won", "amount": "1200.50"}, format="json")
    assert won.status_code == 200
    assert won.json()["stage"] == "won"
    lead.refresh_from_db()
    assert lead.first_touch_at is not None
    assert str(lead.amount) == "1200.50"


def test_a_stale_version_answers_409_lead_changed(api, integration, mql_in_force, territories):
    lead = _handed(integration, "A-7")
    owner = api(lead.owner.username)
    response = owner.post(
        f"/api/v1/leads/{lead.pk}/accept/", {"version": lead.version - 1}, format="json"
    )
    assert response.status_code == 409
    assert "changed" in response.json()["detail"]


def test_only_the_teams_manager_reassigns(api, integration, org, mql_in_force, territories):
    lead = _handed(integration, "A-8")
    target = next(u for u in ("ravi", "carmen", "tom") if u != lead.owner.username)
    url = f"/api/v1/leads/{lead.pk}/reassign/"
    assert api(target).post(url, {"to": org[target].pk}, format="json").status_code == 403
    assert api("elena").post(url, {"to": org[target].pk}, format="json").status_code == 403
    assert api("sam").post(url, {"to": org["leo"].pk}, format="json").status_code == 400
    response = api("sam").post(url, {"to": org[target].pk}, format="json")
    assert response.status_code == 200
    assert response.json()["owner"]["username"] == target


def test_detail_shows_the_events_with_actor_and_time(api, integration, mql_in_force, territories):
    lead = _handed(integration, "A-9")
    owner = api(lead.owner.username)
    owner.post(f"/api/v1/leads/{lead.pk}/accept/", {}, format="json")
    body = owner.get(f"/api/v1/leads/{lead.pk}/").json()
    assert [e["kind"] for e in body["events"]] == ["ingested", "handed_off", "accepted"]
    assert body["events"][2]["actor"] == str(lead.owner)
    assert all(e["occurred_at"] for e in body["events"])


def test_unknown_lead_is_404(api, mql_in_force):
    assert api("ravi").get("/api/v1/leads/999999/").status_code == 404


def test_list_filters_and_paginates_by_cursor(api, integration, mql_in_force, territories):
    for n in range(5):
        post_lead(integration, external_id=f"L-{n}")
    integration.post("/api/v1/leads/", NOT_QUALIFYING, format="json")
    client = api("leo")
    page = client.get("/api/v1/leads/?page_size=2").json()
    assert len(page["results"]) == 2
    assert page["next"]
    second = client.get(page["next"]).json()
    assert {r["id"] for r in second["results"]}.isdisjoint({r["id"] for r in page["results"]})
    assert len(client.get("/api/v1/leads/?stage=inquiry").json()["results"]) == 1
    assert client.get("/api/v1/leads/?stale=true").json()["results"] == []
    assert client.get("/api/v1/leads/?owner=abc").status_code == 400
    assert client.get("/api/v1/leads/?stale=maybe").status_code == 400


def test_list_makes_a_bounded_number_of_queries(
    api, integration, mql_in_force, territories, count_queries
):
    client = api("leo")
    for n in range(3):
        post_lead(integration, external_id=f"Q-{n}")
    few = count_queries(lambda: client.get("/api/v1/leads/"))
    assert few <= 6
    for n in range(3, 40):
        post_lead(integration, external_id=f"Q-{n}")
    many = count_queries(lambda: client.get("/api/v1/leads/"))
    assert many == few
    assert len(client.get("/api/v1/leads/").json()["results"]) == 40


def test_bulk_answers_per_item(integration, mql_in_force, territories):
    items = [
        {**QUALIFYING, "external_id": "B-1"},
        {**QUALIFYING, "external_id": "B-1", "attributes": {"Extra": "y"}},
        {"source": "", "title": "no source"},
        {**NOT_QUALIFYING, "external_id": "B-2"},
    ]
    response = integration.post("/api/v1/leads/bulk/", {"leads": items}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "updated", "error", "created"]
    assert results[0]["id"] == results[1]["id"]
    assert "source" in results[2]["errors"]
    assert Lead.objects.count() == 2
    assert Lead.objects.get(external_id="B-1").attributes == {"TotalVisits": "5", "Extra": "y"}
    again = integration.post("/api/v1/leads/bulk/", {"leads": items}, format="json").json()
    assert [r["status"] for r in again["results"]] == ["updated", "updated", "error", "updated"]
    assert Lead.objects.count() == 2


# PostgreSQL: SQLite's bulk writes go in chunks, so its count grows with the batch.
@pytest.mark.postgres
def test_a_bulk_request_makes_as_many_queries_for_fifty_leads_as_for_five(
    integration, mql_in_force, territories, count_queries
):
    def bulk(prefix, n):
        items = [
            {
                **(QUALIFYING if i % 2 else NOT_QUALIFYING),
                "external_id": f"{prefix}-{i}",
                "email": f"p{i}@{prefix.lower()}{i}.example",
            }
            for i in range(n)
        ]
        response = integration.post("/api/v1/leads/bulk/", {"leads": items}, format="json")
        assert [r["status"] for r in response.json()["results"]] == ["created"] * n

    bulk("WARM", 5)  # the per-process caches (permissions, the definition, rules)
    assert count_queries(lambda: bulk("FEW", 5)) == count_queries(lambda: bulk("MANY", 50))
    assert Lead.objects.filter(external_id__startswith="MANY-", stage="mql").count() == 25


def test_bulk_refuses_more_than_a_thousand_and_bad_shapes(integration, mql_in_force):
    too_many = [{"source": "x"}] * 1001
    assert (
        integration.post("/api/v1/leads/bulk/", {"leads": too_many}, format="json").status_code
        == 400
    )
    assert integration.post("/api/v1/leads/bulk/", {"x": 1}, format="json").status_code == 400
    assert Lead.objects.count() == 0


def test_openapi_schema_validates_and_lists_the_lead_endpoints():
    import io

    import yaml
    from django.core.management import call_command

    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = yaml.safe_load(out.getvalue())
    for path in [
        "/api/v1/leads/",
        "/api/v1/leads/bulk/",
        "/api/v1/leads/{id}/accept/",
        "/api/v1/leads/{id}/reject/",
        "/api/v1/leads/{id}/touches/",
        "/api/v1/leads/{id}/close/",
        "/api/v1/leads/{id}/reassign/",
    ]:
        assert path in schema["paths"], path


def test_a_nul_character_in_a_field_or_attribute_is_a_400_naming_it(integration, mql_in_force):
    response = post_lead(integration, company="Acme\u0000", attributes={"Note": "a\u0000b"})
    assert response.status_code == 400
    assert set(response.json()) == {"company", "attributes.Note"}
    bulk = integration.post(
        "/api/v1/leads/bulk/",
        {"leads": [{**QUALIFYING, "external_id": "N-1", "title": "\u0000"}, NOT_QUALIFYING]},
        format="json",
    )
    assert bulk.status_code == 400
    assert "leads[0].title" in bulk.json()
    assert Lead.objects.count() == 0


def test_a_lead_is_known_by_its_source_and_external_id_together(integration, mql_in_force):
    from leads.ingest import existing_keys, lock_existing

    for source, external_id in [("ads", "K-1"), ("webform", "K-2")]:
        body = {**NOT_QUALIFYING, "source": source, "external_id": external_id}
        assert integration.post("/api/v1/leads/", body, format="json").status_code == 201
    crossed = {("ads", "K-2"), ("webform", "K-1"), ("fair", "K-1")}
    assert existing_keys(crossed) == set()
    assert existing_keys(crossed | {("ads", "K-1")}) == {("ads", "K-1")}
    assert set(lock_existing({("webform", "K-2"), ("ads", "K-2")})) == {("webform", "K-2")}
