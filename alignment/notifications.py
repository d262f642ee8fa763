"""The organisation's notification service: in-app and email, once per event per person.

Any app calls `notify(...)` inside its own transaction; the rows commit with
the business change or not at all, and email delivery is queued after commit.
Delivery claims each row with a compare-and-set update before sending and
records it as sent after, so a task that runs twice sends nothing twice; a row
left "sending" by a worker killed mid-send is retried after CLAIM_TIMEOUT
(at-least-once for what was never recorded as sent).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q

from alignment import clock
from alignment.models import EmailState, Notification, User

log = logging.getLogger(__name__)
CLAIM_TIMEOUT = timedelta(minutes=10)
BATCH = 200


@dataclass(frozen=True)
class Notice:
    """One event to tell some people about; `key` names the event (one row per person)."""

    recipients: Sequence[User | None]
    key: str
    kind: str
    title: str
    body: str = ""
    url: str = ""


def notify(
    *,
    recipients: Iterable[User],
    key: str,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    now: datetime | None = None,
    queue_delivery: bool = True,
) -> int:
    """Record one notification per recipient for the event `key`. Returns how many
    were new (0 when this event was already notified: idempotent)."""
    notice = Notice(list(recipients), key, kind, title, body, url)
    rows = _rows(notice, now or clock.now())
    if not rows:
        return 0
    existing = set(
        Notification.objects.filter(
            key=rows[0].key, recipient__in=[r.recipient for r in rows]
        ).values_list("recipient_id", flat=True)
    )
    new = [r for r in rows if r.recipient_id not in existing]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if queue_delivery and any(r.email_state == EmailState.PENDING for r in new):
        transaction.on_commit(_queue_delivery)
    return len(new)


def notify_many(
    *, notices: Iterable[Notice], now: datetime | None = None, queue_delivery: bool = True
) -> None:
    """Record many events at once (the SLA scan's batch): one INSERT … ON CONFLICT DO
    NOTHING for all their rows, so an event already notified is not notified again."""
    now = now or clock.now()
    rows = [row for notice in notices for row in _rows(notice, now)]
    if not rows:
        return
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if queue_delivery and any(r.email_state == EmailState.PENDING for r in rows):
        transaction.on_commit(_queue_delivery)


def _rows(notice: Notice, now: datetime) -> list[Notification]:
    rows = []
    people = {u.pk: u for u in notice.recipients if u is not None and u.is_active}
    for user in people.values():
        state = {
            "immediate": EmailState.PENDING,
            "digest": EmailState.DIGEST,
        }.get(user.email_notifications, EmailState.SKIPPED)
        if not user.email:
            state = EmailState.SKIPPED
        rows.append(
            Notification(
                recipient=user,
                key=notice.key[:200],
                kind=notice.kind,
                title=notice.title[:200],
                body=notice.body,
                url=notice.url,
                created_at=now,
                email_state=state,
            )
        )
    return rows


def queue_delivery() -> None:
    """Wake a worker to send the emails waiting (after the caller's commit)."""
    transaction.on_commit(_queue_delivery)


def _queue_delivery() -> None:
    # The broker only wakes a worker: if Redis is down, the person's action has
    # still succeeded and the beat's sweep delivers the email later.
    from alignment.tasks import deliver_emails

    try:
        deliver_emails.delay()
    except Exception:  # noqa: BLE001 - any broker failure
        log.warning("could not queue email delivery; the periodic sweep will", exc_info=True)


def deliver_pending(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Send the emails waiting to go out. Safe to run in several workers at once."""
    now = now or clock.now()
    due = (
        Notification.objects.filter(
            Q(email_state=EmailState.PENDING)
            | Q(email_state=EmailState.SENDING, email_claimed_at__lt=now - CLAIM_TIMEOUT)
        )
        .order_by("created_at")
        .values_list("pk", "email_state", "email_claimed_at")[:limit]
    )
    sent = 0
    for pk, state, claimed_at in due:
        claimed = Notification.objects.filter(
            pk=pk, email_state=state, email_claimed_at=claimed_at
        ).update(email_state=EmailState.SENDING, email_claimed_at=now)
        if not claimed:
            continue  # another worker took it
        notification = Notification.objects.select_related("recipient").get(pk=pk)
        try:
            send_mail(
                subject=f"[Alignment] {notification.title}",
                message=_email_body([notification]),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[notification.recipient.email],
            )
        except Exception:
            # Leave it claimed: it is retried after CLAIM_TIMEOUT, not in a hot loop.
            log.exception("email for notification %s failed", pk)
            continue
        Notification.objects.filter(pk=pk, email_state=EmailState.SENDING).update(
            email_state=EmailState.SENT, emailed_at=clock.now()
        )
        sent += 1
    return sent


def send_digests(*, now: datetime | None = None) -> int:
    """One email per person with everything waiting for their daily digest."""
    now = now or clock.now()
    waiting = defaultdict(list)
    for notification in (
        Notification.objects.filter(email_state=EmailState.DIGEST, created_at__lte=now)
        .select_related("recipient")
        .order_by("created_at")[:5000]
    ):
        waiting[notification.recipient].append(notification)
    sent = 0
    for user, items in waiting.items():
        ids = [n.pk for n in items]
        with transaction.atomic():
            claimed = Notification.objects.filter(pk__in=ids, email_state=EmailState.DIGEST).update(
                email_state=EmailState.IN_DIGEST, emailed_at=now
            )
            if claimed != len(ids):
                # Another run claimed some of them: leave this person to that run.
                transaction.set_rollback(True)
                continue
            send_mail(
                subject=f"[Alignment] Your daily digest: {len(items)} update(s)",
                message=_email_body(items),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[user.email],
            )
        sent += 1
    return sent


def _email_body(items: list[Notification]) -> str:
    lines = []
    for n in items:
        lines.append(f"- {n.title}")
        if n.body:
            lines.append(f"  {n.body}")
        if n.url:
            lines.append(f"  {settings.SITE_URL.rstrip('/')}{n.url}")
    lines.append("")
    lines.append("Change how you get these under Notifications in Alignment.")
    return "\n".join(lines)


def mark_read(*, user: User, ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=now or clock.now())


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
