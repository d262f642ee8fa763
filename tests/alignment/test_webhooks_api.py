"""Webhook endpoints in the API and the browser: admins only, refusals by field, bounded pages."""

import pytest
from rest_framework.test import APIClient

from alignment import webhooks
from alignment.models import AuditEntry, OutboxEvent, WebhookDelivery, WebhookEndpoint
from alignment.schema import add_webhooks  # noqa: F401 - named by the settings
from sla import agreements
from tests.sla.engine import in_force

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/webhooks/endpoints/"
GOOD = {"name": "CRM", "url": "https://crm.example.test/in", "event_types": ["lead.accepted"]}


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def endpoint_with_deliveries(org, count: int) -> WebhookEndpoint:
    endpoint = webhooks.endpoint_create(by=org["admin"], **GOOD)
    for n in range(count):
        event = OutboxEvent.objects.create(
            event_type="lead.accepted", lead_id=n, occurred_at="2026-03-02T09:30Z", payload={}
        )
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event=event, lead_key=n, state="failed", attempts=11
        )
        delivery.attempt_log.create(at="2026-03-02T09:31Z", status=500, error="HTTP 500")
    return endpoint


def test_an_admin_adds_an_endpoint_and_gets_its_secret_once_asked(org):
    answer = api_as(org["admin"]).post(ENDPOINTS, GOOD, format="json")
    assert answer.status_code == 201
    body = answer.json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["lead.accepted"]
    listed = api_as(org["admin"]).get(ENDPOINTS).json()["results"]
    assert [e["name"] for e in listed] == ["CRM"]
    assert "secret" not in listed[0]
    assert AuditEntry.objects.filter(action="webhook.created").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://crm.example.test/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"event_types": ["lead.exploded"]}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"name": "  "}, "name"),
        ({"kind": "pager"}, "kind"),
        ({"secret": "whsec_mine"}, "secret"),
    ],
)
def test_a_bad_endpoint_is_refused_by_field_and_nothing_is_written(org, change, field):
    answer = api_as(org["admin"]).post(ENDPOINTS, {**GOOD, **change}, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize("role", ["ravi", "sam", "leo", "ada"])
def test_only_admins_manage_webhooks(org, role):
    endpoint = endpoint_with_deliveries(org, 1)
    client = api_as(org[role])
    assert client.get(ENDPOINTS).status_code == 403
    assert client.post(ENDPOINTS, GOOD, format="json").status_code == 403
    assert client.patch(f"{ENDPOINTS}{endpoint.pk}/", {"is_active": False}).status_code == 403
    assert client.post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/", {}).status_code == 403
    delivery = WebhookDelivery.objects.get()
    redeliver = f"/api/v1/webhooks/deliveries/{delivery.pk}/redeliver/"
    assert client.post(redeliver, {}).status_code == 403
    assert WebhookEndpoint.objects.get().is_active
    assert WebhookDelivery.objects.get().state == "failed"


def test_an_admin_disables_rotates_and_redelivers(org):
    endpoint = endpoint_with_deliveries(org, 1)
    client = api_as(org["admin"])
    off = client.patch(f"{ENDPOINTS}{endpoint.pk}/", {"is_active": False}, format="json")
    assert off.status_code == 200
    assert off.json()["is_active"] is False
    rotated = client.post(f"{ENDPOINTS}{endpoint.pk}/rotate-secret/", {}, format="json").json()
    assert rotated["secret"] != endpoint.secret
    assert rotated["previous_secret_until"]
    delivery = WebhookDelivery.objects.get()
    again = client.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/redeliver/", {}, format="json")
    assert again.status_code == 202
    assert again.json()["state"] == "pending"
    assert again.json()["attempt_log"][0]["status"] == 500  # the log keeps the earlier tries
    bad = client.patch(f"{ENDPOINTS}{endpoint.pk}/", {"event_types": ["x.y"]}, format="json")
    assert bad.status_code == 400
    assert "event_types" in bad.json()
    assert WebhookEndpoint.objects.get().event_types == ["lead.accepted"]


def test_the_delivery_log_costs_the_same_whatever_its_length(org, count_queries):
    endpoint_with_deliveries(org, 3)
    client = api_as(org["admin"])
    few = count_queries(lambda: client.get("/api/v1/webhooks/deliveries/"))
    endpoint_with_deliveries(org, 30)
    many = count_queries(lambda: client.get("/api/v1/webhooks/deliveries/?state=failed"))
    assert many == few <= 6
    assert client.get("/api/v1/webhooks/deliveries/?state=lost").status_code == 400
    assert client.get("/api/v1/webhooks/deliveries/?endpoint=x").status_code == 400


def test_the_event_types_are_listed_and_each_has_a_webhook_in_the_schema(org):
    client = api_as(org["admin"])
    types = [row["type"] for row in client.get("/api/v1/webhooks/event-types/").json()]
    assert {"lead.accepted", "clock.sla_breached", "agreement.agreed"} <= set(types)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["openapi"].startswith("3.1")
    assert sorted(schema["webhooks"]) == sorted(types)
    for event_type, hook in schema["webhooks"].items():
        content = hook["post"]["requestBody"]["content"]["application/json"]
        assert content["example"]["type"] == event_type
        ref = content["schema"]["$ref"].rsplit("/", 1)[1]
        assert event_type in schema["components"]["schemas"][ref]["properties"]["type"]["enum"]


def wiki_hears(org, *event_types: str) -> None:
    webhooks.endpoint_create(
        by=org["admin"],
        name="Wiki",
        url="https://wiki.example.test/",
        event_types=list(event_types),
    )


def test_an_agreement_event_goes_out_with_no_lead(org):
    wiki_hears(org, "agreement.created")
    in_force(org, [{"label": "Everyone", "accept_hours": 8, "first_touch_hours": 16}])
    agreements.agreement_draft_create(by=org["maya"], summary="Next quarter")
    (event,) = OutboxEvent.objects.all()
    assert event.event_type == "agreement.created"
    assert event.lead_id is None
    assert WebhookDelivery.objects.get().lead_key == 0


def test_a_sent_back_agreement_goes_out_with_its_comment_in_data(org):
    wiki_hears(org, "agreement.sent_back")
    draft = agreements.agreement_draft_create(
        by=org["maya"], goals=[{"label": "Everyone", "accept_hours": 8, "first_touch_hours": 16}]
    )
    proposal = agreements.agreement_propose(agreement=draft, by=org["maya"], expected_revision=1)
    agreements.agreement_send_back(agreement=proposal, by=org["sam"], comment="EMEA needs 12h")
    (event,) = OutboxEvent.objects.all()
    sent_back = proposal.events.get(kind="sent_back")
    assert event.payload == {
        "event": sent_back.pk,
        "agreement": proposal.pk,
        "kind": "sent_back",
        "actor": org["sam"].pk,
        "occurred_at": event.payload["occurred_at"],
        "data": {"comment": "EMEA needs 12h", "lapsed_signatures": []},
    }
    assert event.occurred_at == sent_back.at
    assert event.payload["occurred_at"].startswith(sent_back.at.isoformat()[:19])


# --- the pages ----------------------------------------------------------------------------


def test_an_admin_adds_an_endpoint_in_the_browser(client, org):
    client.force_login(org["admin"])
    assert client.get("/integrations/webhooks/").status_code == 200
    answer = client.post(
        "/integrations/webhooks/", {**GOOD, "kind": "webhook", "event_types": ["lead.accepted"]}
    )
    endpoint = WebhookEndpoint.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"/integrations/webhooks/{endpoint.pk}/"
    page = client.get(answer["Location"]).content.decode()
    assert endpoint.secret in page


def test_a_bad_endpoint_form_says_what_is_wrong_and_writes_nothing(client, org):
    client.force_login(org["admin"])
    answer = client.post(
        "/integrations/webhooks/",
        {
            "name": "Chat",
            "url": "javascript:alert(1)",
            "kind": "chat",
            "event_types": ["lead.accepted"],
        },
    )
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "Enter an http:// or https:// address" in page
    assert "a chat channel takes only" in page
    assert WebhookEndpoint.objects.count() == 0


def test_people_who_are_not_admins_cannot_open_the_webhook_pages(client, org):
    endpoint = endpoint_with_deliveries(org, 1)
    client.force_login(org["sam"])
    assert client.get("/integrations/webhooks/").status_code == 403
    assert client.post("/integrations/webhooks/", GOOD).status_code == 403
    assert client.get(f"/integrations/webhooks/{endpoint.pk}/").status_code == 403
    assert client.post(f"/integrations/webhooks/{endpoint.pk}/delete/").status_code == 403
    assert WebhookEndpoint.objects.count() == 1


def test_the_endpoint_page_shows_its_delivery_log_in_bounded_queries(client, org, count_queries):
    endpoint = endpoint_with_deliveries(org, 3)
    client.force_login(org["admin"])
    url = f"/integrations/webhooks/{endpoint.pk}/"
    few = count_queries(lambda: client.get(url))
    for n in range(30):
        event = OutboxEvent.objects.create(
            event_type="lead.accepted", lead_id=n, occurred_at="2026-03-02T09:30Z", payload={}
        )
        WebhookDelivery.objects.create(endpoint=endpoint, event=event, state="delivered")
    assert count_queries(lambda: client.get(url)) == few
    page = client.get(url).content.decode()
    assert page.count("Redeliver") == 33
    delivery = WebhookDelivery.objects.filter(state="failed").first()
    answer = client.post(f"/integrations/webhooks/deliveries/{delivery.pk}/redeliver/")
    assert answer.status_code == 302
    delivery.refresh_from_db()
    assert delivery.state == "pending"
