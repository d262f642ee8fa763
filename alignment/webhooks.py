"""Webhook endpoints (the admin's services) and the delivery of the outbox to them.

Signing follows Standard Webhooks (standardwebhooks.com): headers `webhook-id`
(the event's id: the same on every retry, so a receiver drops a duplicate),
`webhook-timestamp` (seconds) and `webhook-signature`, "v1,<base64 HMAC-SHA256
of id.timestamp.body>" keyed with the secret "whsec_<base64>"; after a rotation
the previous secret signs too (a second, space-separated signature) for
ROTATION_GRACE, so a receiver changes its key when it likes.

Delivery is claimed like email (alignment.notifications): a set-based claim
(SKIP LOCKED, so several workers share the work), a chunk sent at once by
SENDERS threads outside any transaction (a receiver's latency, not ours, is
what bounds a worker), and the chunk's outcomes recorded in one transaction. A
claim older than CLAIM_TIMEOUT is taken again (its worker died mid-chunk: an event
it had sent arrives twice, with one id). One
event of a lead waits while an earlier event of that lead to the same endpoint
is pending, so a receiver sees each lead's events in order. A failure is tried
again after an exponential backoff with jitter (BACKOFF: 11 attempts spread over
some 28 to 44 hours); an endpoint that failed for longer than DISABLE_AFTER when
a delivery runs out of attempts is disabled, and the admins are told.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.db.models import F, Q

from alignment import audit, clock, outbox
from alignment.models import (
    DeliveryState,
    EndpointKind,
    OutboxEvent,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from alignment.notifications import notify

logger = logging.getLogger(__name__)

ROTATION_GRACE = timedelta(hours=24)
CLAIM_TIMEOUT = timedelta(seconds=getattr(settings, "WEBHOOK_CLAIM_SECONDS", 60))
TIMEOUT = (3.05, 10)  # seconds to connect, to read the answer
CHUNK = 50
SENDERS = getattr(settings, "WEBHOOK_SENDERS", 8)  # requests in flight at once, per worker
DELIVERY_BUDGET = 50  # seconds of one run; under the task's soft time limit
# Waits after the 1st, 2nd ... 10th failed attempt (the 11th is the last), before
# jitter: 1, 3, 9, 27, 81, 243 minutes, then 8 hours four times: 38 hours in all.
BACKOFF = [timedelta(minutes=3**n) for n in range(6)] + [timedelta(hours=8)] * 4
JITTER = (0.75, 1.15)  # each wait is multiplied by a uniform draw in this range
MAX_ATTEMPTS = len(BACKOFF) + 1
DISABLE_AFTER = timedelta(hours=24)
# A chat channel is for people: breaches and escalations only, as one line of text.
CHAT_TYPES = ("clock.sla_breached", "clock.escalated")
EDITABLE = ("name", "url", "event_types", "is_active")


# --- signing ----------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    keys = [endpoint.secret]
    if endpoint.previous_secret and (endpoint.previous_secret_until or now) > now:
        keys.append(endpoint.previous_secret)
    return keys


def headers(endpoint: WebhookEndpoint, msg_id: str, body: bytes, now: datetime) -> dict[str, str]:
    stamp = int(now.timestamp())
    signatures = " ".join(signature(k, msg_id, stamp, body) for k in signing_secrets(endpoint, now))
    return {
        "content-type": "application/json",
        "user-agent": "Alignment-Webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signatures,
    }


# --- the admin's services ---------------------------------------------------------------


def _clean(*, name: str, url: str, kind: str, event_types: object, is_active: bool = True) -> dict:
    errors: dict[str, list[str]] = {}
    name = " ".join(str(name or "").split())
    if not name:
        errors["name"] = ["Give the endpoint a name."]
    elif len(name) > 100:
        errors["name"] = ["At most 100 characters."]
    url = str(url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
        if len(url) > 500:
            raise ValidationError("long")
    except ValidationError:
        errors["url"] = ["Enter an http:// or https:// address of at most 500 characters."]
    if kind not in EndpointKind.values:
        errors["kind"] = [f"Choose one of: {', '.join(EndpointKind.values)}."]
    known = CHAT_TYPES if kind == EndpointKind.CHAT else outbox.event_types()
    types = event_types if isinstance(event_types, list | tuple) else None
    if not types or not all(isinstance(t, str) for t in types):
        errors["event_types"] = ["Choose at least one event type."]
    elif unknown := sorted(set(types) - set(known)):
        what = "a chat channel takes only " + ", ".join(CHAT_TYPES) if kind == "chat" else ""
        errors["event_types"] = [
            f"Not an event type{' here' if what else ''}: "
            f"{', '.join(unknown)}{'; ' + what if what else ''}."
        ]
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "url": url,
        "kind": kind,
        "event_types": sorted(set(types)),
        "is_active": bool(is_active),
    }


def endpoint_create(
    *,
    by: User,
    name: str,
    url: str,
    kind: str = EndpointKind.WEBHOOK,
    event_types: object,
    now: datetime | None = None,
) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (shown to the admin; they can read it again)."""
    now = now or clock.now()
    values = _clean(name=name, url=url, kind=kind, event_types=event_types)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            **values, secret=new_secret(), created_by=by, created_at=now
        )
        audit.record(
            by=by,
            action="webhook.created",
            target=endpoint,
            at=now,
            changes={k: [None, v] for k, v in values.items()},
        )
    return endpoint


def endpoint_update(
    *, endpoint: WebhookEndpoint, by: User, now: datetime | None = None, **changes
) -> WebhookEndpoint:
    """Change what is given of name, url, event_types, is_active. Enabling a disabled
    endpoint forgets its failures; its failed deliveries stay failed (redeliver them)."""
    now = now or clock.now()
    if unknown := set(changes) - set(EDITABLE):
        raise ValidationError({name: ["Unknown field."] for name in unknown})
    with transaction.atomic():
        current = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = audit.snapshot(current, EDITABLE)
        values = _clean(kind=current.kind, **{**before, **changes})
        for name, value in values.items():
            setattr(current, name, value)
        if values["is_active"] and not before["is_active"]:
            current.disabled_at, current.disabled_reason, current.failing_since = None, "", None
        current.save()
        audit.record(
            by=by,
            action="webhook.updated",
            target=current,
            at=now,
            changes=audit.diff(before, audit.snapshot(current, EDITABLE)),
        )
    return current


def endpoint_rotate_secret(
    *, endpoint: WebhookEndpoint, by: User, now: datetime | None = None
) -> WebhookEndpoint:
    """A new secret signs from now on; the old one signs as well for ROTATION_GRACE."""
    now = now or clock.now()
    with transaction.atomic():
        current = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        current.previous_secret, current.secret = current.secret, new_secret()
        current.previous_secret_until = now + ROTATION_GRACE
        current.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
        audit.record(
            by=by,
            action="webhook.secret_rotated",
            target=current,
            at=now,
            note="The previous secret signs too until "
            f"{current.previous_secret_until:%Y-%m-%d %H:%M}.",
        )
    return current


def endpoint_delete(*, endpoint: WebhookEndpoint, by: User, now: datetime | None = None) -> None:
    with transaction.atomic():
        audit.record(by=by, action="webhook.deleted", target=endpoint, at=now or clock.now())
        endpoint.delete()


def redeliver(*, delivery: WebhookDelivery, by: User, now: datetime | None = None) -> int:
    """Send one delivery again, from its first attempt (its earlier tries stay in the log).
    Returns 1, or 0 when it is already waiting to be sent."""
    with transaction.atomic():
        changed = WebhookDelivery.objects.filter(
            pk=delivery.pk, state__in=[DeliveryState.DELIVERED, DeliveryState.FAILED]
        ).update(state=DeliveryState.PENDING, attempts=0, next_attempt_at=None, claimed_at=None)
        if changed:
            audit.record(
                by=by,
                action="webhook.redelivered",
                target=delivery.endpoint,
                at=now or clock.now(),
                note=f"Event {delivery.event_id}",
            )
    return changed


# --- delivery ---------------------------------------------------------------------------


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """The wait after the `attempts`-th failed attempt."""
    wait = BACKOFF[min(attempts, len(BACKOFF)) - 1]
    return wait * (rng or random).uniform(*JITTER)


def deliver_pending(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Send what is due, a chunk at a time, until none is left, `limit` are sent or the
    budget is spent. Returns how many were delivered."""
    started, delivered, sent = time.monotonic(), 0, 0
    with ThreadPoolExecutor(SENDERS) as pool:
        while time.monotonic() - started < DELIVERY_BUDGET:
            size = CHUNK if limit is None else min(CHUNK, limit - sent)
            chunk = _claim(now or clock.now(), size) if size > 0 else []
            if not chunk:
                break
            # At most one event per lead and endpoint in a chunk (the claim's order rule),
            # so they may go at once; the outcomes are recorded together.
            outcomes = list(pool.map(_post, chunk, [body(d) for d in chunk]))
            delivered += _record(chunk, outcomes, now or clock.now())
            sent += len(chunk)
    return delivered


_CLAIM = """
UPDATE alignment_webhookdelivery AS d SET state = 'sending', claimed_at = %(now)s
WHERE d.id IN (
    SELECT d.id FROM alignment_webhookdelivery d
    JOIN alignment_webhookendpoint e ON e.id = d.endpoint_id AND e.is_active
    WHERE ((d.state = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= %(now)s))
           OR (d.state = 'sending' AND d.claimed_at < %(stale)s))
      AND NOT EXISTS (
        SELECT 1 FROM alignment_webhookdelivery p
        WHERE p.endpoint_id = d.endpoint_id AND p.lead_key = d.lead_key
          AND p.event_id < d.event_id AND p.state IN ('pending', 'sending'))
    ORDER BY d.event_id
    LIMIT %(size)s
    FOR UPDATE OF d SKIP LOCKED)
RETURNING d.id
"""


def _claim(now: datetime, size: int) -> list[WebhookDelivery]:
    params = {"now": now, "stale": now - CLAIM_TIMEOUT, "size": size}
    with transaction.atomic():
        sql = _CLAIM if connection.vendor == "postgresql" else _sqlite(_CLAIM)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            ids = [row[0] for row in cursor.fetchall()]
    return list(
        WebhookDelivery.objects.filter(pk__in=ids)
        .select_related("endpoint", "event")
        .order_by("event_id")
    )


def _sqlite(sql: str) -> str:
    # One writer at a time on SQLite: no row locks to skip, and RETURNING with no alias.
    return sql.replace("FOR UPDATE OF d SKIP LOCKED", "").replace("RETURNING d.id", "RETURNING id")


def body(delivery: WebhookDelivery) -> bytes:
    event = delivery.event
    if delivery.endpoint.kind == EndpointKind.CHAT:
        return json.dumps({"text": chat_text(event)}).encode()
    document = {
        "type": event.event_type,
        "timestamp": event.occurred_at.isoformat(),
        "data": event.payload,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def chat_text(event: OutboxEvent) -> str:
    data = event.payload
    owner = User.objects.filter(pk=data.get("owner")).first()
    what = "escalated to the arbiter" if event.event_type == "clock.escalated" else "breached"
    link = f"{settings.SITE_URL.rstrip('/')}/leads/{data.get('lead')}/"
    clock_kind = str(data.get("clock_kind", "")).replace("_", " ")
    return (
        f":rotating_light: The {clock_kind} deadline of {data.get('lead_name', 'a lead')} "
        f"was {what}" + (f" (owner: {owner})" if owner else "") + f". <{link}|Open the lead>"
    )


_sessions = threading.local()


def _post(delivery: WebhookDelivery, payload: bytes) -> tuple[int | None, str, int]:
    """POST one delivery (in a sender thread, no database): (status, error, milliseconds)."""
    session = getattr(_sessions, "session", None) or requests.Session()
    _sessions.session = session
    started = time.monotonic()
    status, error = None, ""
    try:
        answer = session.post(
            delivery.endpoint.url,
            data=payload,
            headers=headers(delivery.endpoint, delivery.event.message_id, payload, clock.now()),
            timeout=TIMEOUT,
            allow_redirects=False,
        )
        status = answer.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}: {answer.text[:200]}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    return status, error, int((time.monotonic() - started) * 1000)


def _record(chunk: list[WebhookDelivery], outcomes: list[tuple], at: datetime) -> int:
    """One transaction per chunk: the attempts logged in one INSERT, the delivered marked
    in one UPDATE (a claim taken over meanwhile is not overwritten), each failure given
    its own wait. Returns how many were delivered."""
    ok = [d for d, (_, error, _) in zip(chunk, outcomes, strict=True) if not error]
    failed = [(d, o) for d, o in zip(chunk, outcomes, strict=True) if o[1]]
    with transaction.atomic():
        WebhookAttempt.objects.bulk_create(
            WebhookAttempt(delivery=d, at=at, status=status, error=error, duration_ms=took)
            for d, (status, error, took) in zip(chunk, outcomes, strict=True)
        )
        if ok:
            WebhookDelivery.objects.filter(
                pk__in=[d.pk for d in ok], state=DeliveryState.SENDING, claimed_at=ok[0].claimed_at
            ).update(
                state=DeliveryState.DELIVERED,
                attempts=F("attempts") + 1,
                delivered_at=at,
                last_status=outcomes[chunk.index(ok[0])][0],
                last_error="",
            )
            WebhookEndpoint.objects.filter(pk__in={d.endpoint_id for d in ok}).exclude(
                failing_since=None
            ).update(failing_since=None)
        for delivery, (status, error, _) in failed:
            _failed(delivery, status=status, error=error, at=at)
    return len(ok)


def _failed(delivery: WebhookDelivery, *, status, error: str, at: datetime) -> None:
    attempts = delivery.attempts + 1
    gave_up = attempts >= MAX_ATTEMPTS
    WebhookDelivery.objects.filter(
        pk=delivery.pk, state=DeliveryState.SENDING, claimed_at=delivery.claimed_at
    ).update(
        state=DeliveryState.FAILED if gave_up else DeliveryState.PENDING,
        attempts=attempts,
        next_attempt_at=None if gave_up else at + backoff(attempts),
        last_status=status,
        last_error=error[:500],
    )
    WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, failing_since=None).update(
        failing_since=at
    )
    if gave_up:
        _disable_if_failing(delivery.endpoint_id, at)


def _disable_if_failing(endpoint_id: int, at: datetime) -> None:
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint_id, is_active=True, failing_since__lte=at - DISABLE_AFTER
    ).update(
        is_active=False,
        disabled_at=at,
        disabled_reason="Every delivery failed for more than a day, and one ran out of attempts.",
    )
    if not disabled:
        return
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    logger.warning("webhook endpoint %s disabled after persistent failure", endpoint_id)
    notify(
        recipients=admins(),
        key=f"webhook-disabled:{endpoint_id}:{at:%Y%m%d%H%M}",
        kind="webhook_disabled",
        title=f"Webhook endpoint “{endpoint.name}” was disabled",
        body=f"Deliveries to {endpoint.url} failed for more than a day. Fix the receiver, "
        "enable the endpoint again and redeliver what failed.",
        url=f"/integrations/webhooks/{endpoint_id}/",
        now=at,
    )


def admins() -> Iterable[User]:
    return User.objects.filter(
        Q(is_superuser=True) | Q(groups__permissions__codename="manage_organisation"),
        is_active=True,
    ).distinct()
