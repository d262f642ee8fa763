"""Events out: the outbox in the event's transaction, signed deliveries, retries in order."""

import base64
import datetime as dt
import hashlib
import hmac
import random

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction

from alignment import clock, outbox, webhooks
from alignment.models import (
    DeliveryState,
    Notification,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from sla.scan import scan
from tests.leads.conftest import mql_in_force, reasons, territories  # noqa: F401 - fixtures
from tests.reliability.webhook_receiver import WebhookReceiver
from tests.sla.engine import MONDAY_10_NY, agreement, at_monday, hand_off  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("agreement", "territories")]
MONDAY = pytest.mark.usefixtures("at_monday")


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


def subscribe(org, url: str, *types: str, kind: str = "webhook") -> WebhookEndpoint:
    return webhooks.endpoint_create(
        by=org["admin"], name="CRM", url=url, kind=kind, event_types=list(types)
    )


def verify(secret: str, got) -> bool:
    """What a receiver does (standardwebhooks.com), written apart from our signer."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{got.headers['webhook-id']}.{got.headers['webhook-timestamp']}.".encode() + got.body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    offered = [s.split(",", 1)[1] for s in got.headers["webhook-signature"].split()]
    return any(hmac.compare_digest(expected, s) for s in offered)


@MONDAY
def test_no_outbox_row_is_written_while_no_endpoint_subscribes(org):
    hand_off(org, "quiet")
    assert OutboxEvent.objects.count() == 0


@MONDAY
def test_each_lead_event_goes_to_the_outbox_in_its_own_transaction(org, receiver):
    subscribe(org, receiver.url, "lead.ingested", "lead.handed_off")

    def fails_after_its_events():
        with transaction.atomic():
            hand_off(org, "rolled-back")
            raise RuntimeError("the action fails after its events")

    with pytest.raises(RuntimeError):
        fails_after_its_events()
    assert OutboxEvent.objects.count() == 0  # gone with the events
    lead = hand_off(org, "kept")
    events = list(OutboxEvent.objects.order_by("id"))
    assert [e.event_type for e in events] == ["lead.ingested", "lead.handed_off"]
    assert {e.lead_id for e in events} == {lead.pk}
    assert events[1].payload["to_stage"] == "mql"
    assert events[1].payload["lead"] == lead.pk
    assert WebhookDelivery.objects.filter(state="pending").count() == 2


@MONDAY
def test_a_breach_found_by_the_scan_goes_out_with_it(org, receiver):
    subscribe(org, receiver.url, "clock.sla_breached")
    lead = hand_off(org, "late")
    with time_machine.travel(MONDAY_10_NY + dt.timedelta(days=3), tick=False):
        scan()
        assert webhooks.deliver_pending() >= 1
    (got, *_) = receiver.accepted
    assert got.json["type"] == "clock.sla_breached"
    assert got.json["data"]["lead"] == lead.pk
    assert got.json["data"]["clock_kind"] in ("accept", "first_touch")


@MONDAY
def test_a_delivery_is_signed_with_the_secret_and_the_previous_one_during_a_rotation(org, receiver):
    endpoint = subscribe(org, receiver.url, "lead.ingested")
    hand_off(org, "signed-1")
    webhooks.deliver_pending()
    first = receiver.accepted[-1]
    assert first.headers["webhook-id"] == f"msg_{OutboxEvent.objects.get().pk}"
    assert int(first.headers["webhook-timestamp"]) == int(clock.now().timestamp())
    assert verify(endpoint.secret, first)
    assert endpoint.secret.startswith("whsec_")
    old = endpoint.secret
    rotated = webhooks.endpoint_rotate_secret(endpoint=endpoint, by=org["admin"])
    hand_off(org, "signed-2")
    webhooks.deliver_pending()
    during = receiver.accepted[-1]
    assert len(during.headers["webhook-signature"].split()) == 2
    assert verify(old, during)
    assert verify(rotated.secret, during)
    with time_machine.travel(clock.now() + webhooks.ROTATION_GRACE, tick=False):
        hand_off(org, "signed-3")
        webhooks.deliver_pending()
    after = receiver.accepted[-1]
    assert verify(rotated.secret, after)
    assert not verify(old, after)
    assert not verify("whsec_" + base64.b64encode(b"x" * 24).decode(), after)


def test_the_waits_between_attempts_grow_and_span_more_than_a_day():
    rng = random.Random(7)
    for draw in range(20):
        waits = [webhooks.backoff(n, rng=rng) for n in range(1, webhooks.MAX_ATTEMPTS)]
        assert waits[:6] == sorted(waits[:6])  # exponential at first
        total = sum(waits, dt.timedelta())
        assert dt.timedelta(hours=27) < total < dt.timedelta(hours=45), draw
    assert webhooks.MAX_ATTEMPTS == 11


@MONDAY
def test_a_failing_receiver_is_tried_later_then_the_endpoint_is_disabled_and_admins_told(
    org, receiver
):
    endpoint = subscribe(org, receiver.url, "lead.ingested")
    hand_off(org, "unlucky")
    receiver.status = 500
    now = clock.now()
    assert webhooks.deliver_pending(now=now) == 0
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "pending"
    assert delivery.attempts == 1
    assert delivery.next_attempt_at > now
    assert webhooks.deliver_pending(now=now) == 0  # not before its time
    assert len(receiver.received) == 1
    for _ in range(webhooks.MAX_ATTEMPTS - 1):
        delivery.refresh_from_db()
        now = delivery.next_attempt_at
        webhooks.deliver_pending(now=now)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.attempts == webhooks.MAX_ATTEMPTS
    assert delivery.last_status == 500
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == webhooks.MAX_ATTEMPTS
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_at == now
    told = Notification.objects.filter(kind="webhook_disabled")
    assert {n.recipient.username for n in told} == {"admin"}
    # Enabled again and redelivered: it arrives.
    receiver.status = 200
    webhooks.endpoint_update(endpoint=endpoint, by=org["admin"], is_active=True)
    assert webhooks.redeliver(delivery=delivery, by=org["admin"]) == 1
    assert webhooks.deliver_pending(now=now) == 1
    assert receiver.unique_ids() == [f"msg_{delivery.event_id}"]


@MONDAY
def test_a_lead_s_later_event_waits_until_the_earlier_one_is_delivered(org, receiver):
    subscribe(org, receiver.url, "lead.ingested", "lead.handed_off", "lead.accepted")
    receiver.status = 503
    lead = hand_off(org, "ordered")
    other = hand_off(org, "other")
    assert webhooks.deliver_pending() == 0
    # One try each for the first event of each lead; the second ones waited.
    assert sorted(r.json["data"]["lead"] for r in receiver.received) == [lead.pk, other.pk]
    assert {r.json["type"] for r in receiver.received} == {"lead.ingested"}
    receiver.status = 200
    WebhookDelivery.objects.update(next_attempt_at=None)
    while webhooks.deliver_pending():
        pass
    for pk in (lead.pk, other.pk):
        types = [r.json["type"] for r in receiver.accepted if r.json["data"]["lead"] == pk]
        assert types == ["lead.ingested", "lead.handed_off"]


@MONDAY
def test_a_chat_channel_gets_one_line_for_a_breach(org, receiver):
    subscribe(org, receiver.url, "clock.sla_breached", kind="chat")
    lead = hand_off(org, "chatty", first_name="Ana", last_name="Souza")
    with time_machine.travel(MONDAY_10_NY + dt.timedelta(days=3), tick=False):
        scan()
        webhooks.deliver_pending()
    text = receiver.accepted[0].json["text"]
    assert "Ana Souza" in text
    assert "breached" in text
    assert f"/leads/{lead.pk}/" in text
    assert set(receiver.accepted[0].json) == {"text"}


def test_a_chat_channel_takes_only_breaches_and_escalations(org):
    with pytest.raises(ValidationError) as refused:
        subscribe(org, "https://hooks.example.com/x", "lead.accepted", kind="chat")
    assert "event_types" in refused.value.message_dict
    assert WebhookEndpoint.objects.count() == 0


def test_the_catalogue_names_every_lead_clock_and_agreement_event():
    types = outbox.event_types()
    for expected in ("lead.accepted", "lead.handed_off", "clock.sla_breached", "agreement.agreed"):
        assert expected in types
    assert outbox.example("clock.escalated")["data"]["kind"] == "escalated"
