"""The organisation's notification service: in-app and email, once per event per person.

Any app calls `notify(...)` (or `notify_many(...)` for a batch) inside its own
transaction; the rows commit with the business change or not at all, and email
delivery is queued after commit. Delivery claims chunks of rows (SKIP LOCKED,
so several workers share a burst), stamped when claimed and renewed while it
sends over one connection to the mail server, and marks each row sent as soon
as the server accepted it; so no email is sent twice unless a worker dies in
the instant between the server's answer and that mark, and then the copy has
the same Message-ID (the notification's id) for the mail system to drop. A
message that fails is tried again later, MAX_ATTEMPTS times, then marked
failed and listed for admins; a mail server that is down or hung stops the run
(after EMAIL_TIMEOUT) without counting against any message.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Q

from alignment import clock, partitions
from alignment.bulk import insert_rows
from alignment.models import EmailState, Notification, User

log = logging.getLogger(__name__)
# An email claimed but neither sent nor renewed for this long belongs to a worker that
# died: another takes it. Claims are renewed every RENEW_EVERY while a worker sends, and a
# mail server that stops answering is given up after EMAIL_TIMEOUT, far less than this.
CLAIM_TIMEOUT = timedelta(seconds=getattr(settings, "EMAIL_CLAIM_SECONDS", 120))
RENEW_EVERY = CLAIM_TIMEOUT / 4
CHUNK = 50  # emails claimed at once by one worker
RETRY_AFTER = timedelta(minutes=5)  # an email that failed is tried again after this...
MAX_ATTEMPTS = 5  # ...this many times in all, then marked failed for an admin to see
DELIVERY_BUDGET = 180  # seconds of one delivery run; under the task's soft time limit
EMAILS_PER_WAKE_UP = 500  # a burst wakes one delivery task per this many emails...
WAKE_UPS_AT_MOST = 4  # ...up to this many (the email pool's processes in docker-compose)


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
    rows = _rows(Notice(list(recipients), key, kind, title, body, url), now or clock.now())
    if not rows:
        return 0
    existing = set(
        Notification.objects.filter(key=rows[0][1], recipient__in=[r[0] for r in rows]).values_list(
            "recipient_id", flat=True
        )
    )
    new = [r for r in rows if r[0] not in existing]
    _insert(rows, wake=queue_delivery and any(r[7] == EmailState.PENDING for r in new))
    return len(new)


def notify_many(
    *, notices: Iterable[Notice], now: datetime | None = None, queue_delivery: bool = True
) -> int:
    """Record many events at once (the SLA scan's batch): one statement for all their
    rows, so an event already notified is not notified again. Returns how many of the
    rows are emails to send (rows already there count too: it sizes the wake-up of the
    email pool, see queue_delivery)."""
    now = now or clock.now()
    notices = list(notices)
    if connection.vendor != "postgresql":
        firsts: dict[tuple, tuple] = {}  # a (recipient, key) twice in the batch: its first
        for row in (row for notice in notices for row in _rows(notice, now)):
            firsts.setdefault(row[:2], row)
        rows = list(firsts.values())
        emails = sum(1 for r in rows if r[7] == EmailState.PENDING)
        _insert(rows, wake=queue_delivery and emails > 0)
        return emails
    emails = _insert_notices(notices, now)
    if queue_delivery and emails:
        transaction.on_commit(_queue_delivery)
    return emails


# The columns _rows fills, in order (every NOT NULL one: see alignment.bulk).
_COLUMNS = (
    "recipient_id",
    "key",
    "kind",
    "title",
    "body",
    "url",
    "created_at",
    "email_state",
    "email_attempts",
    "email_error",
)


def _people(notice: Notice) -> dict[int, User]:
    return {u.pk: u for u in notice.recipients if u is not None and u.is_active}


def _email_state(user: User) -> str:
    if not user.email:
        return EmailState.SKIPPED
    return _EMAIL_STATE.get(user.email_notifications, EmailState.SKIPPED)


def _title(notice: Notice) -> str:
    # One line: it is also the email's subject (a line break there is a header injection).
    return " ".join(notice.title.split())[:200]


def _rows(notice: Notice, now: datetime) -> list[tuple]:
    key, title = notice.key[:200], _title(notice)
    return [
        (pk, key, notice.kind, title, notice.body, notice.url, now, _email_state(user), 0, "")
        for pk, user in _people(notice).items()
    ]


_EMAIL_STATE = {"immediate": EmailState.PENDING, "digest": EmailState.DIGEST}


def _insert(rows: list[tuple], *, wake: bool) -> None:
    insert_rows(Notification, _COLUMNS, rows, ignore_conflicts=True)
    if wake:
        transaction.on_commit(_queue_delivery)


# Each notice's text is sent once, whatever its number of recipients; the (notice,
# recipient) pairs are claimed in the key table and only the new ones inserted, which
# the once-per-event trigger lets through without claiming each again
# (alignment.partitions): the trigger's result, set-based, in one round trip.
_INSERT_NOTICES = f"""
SELECT set_config('{partitions.KEYS_CLAIMED}', 'on', true);
WITH n AS (
    SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::text[], %s::varchar[])
        WITH ORDINALITY AS n (key, kind, title, body, url, no)
), p AS (
    SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[]) AS p (no, recipient_id, state)
), claimed AS (
    INSERT INTO {partitions.KEY_TABLE} (recipient_id, key)
    SELECT p.recipient_id, n.key FROM p JOIN n USING (no) ORDER BY p.recipient_id, n.key
    ON CONFLICT DO NOTHING RETURNING recipient_id, key
)
INSERT INTO alignment_notification (recipient_id, key, kind, title, body, url, created_at,
    email_state, email_attempts, email_error)
SELECT p.recipient_id, n.key, n.kind, n.title, n.body, n.url, %s, p.state, 0, ''
FROM claimed JOIN n USING (key) JOIN p ON p.no = n.no AND p.recipient_id = claimed.recipient_id
"""  # noqa: S608 - constant names


def _insert_notices(notices: list[Notice], now: datetime) -> int:
    """PostgreSQL: the notices' new (recipient, key) pairs in one statement (a pair that
    comes twice in the batch: its first notice). Returns the rows that are emails."""
    texts: list[tuple] = []
    pairs: list[tuple] = []
    seen: set[tuple[int, str]] = set()
    emails = 0
    for notice in notices:
        key, first = notice.key[:200], len(pairs)
        for pk, user in _people(notice).items():
            if (pk, key) not in seen:
                seen.add((pk, key))
                state = _email_state(user)
                emails += state == EmailState.PENDING
                pairs.append((len(texts) + 1, pk, state))
        if len(pairs) > first:
            texts.append((key, notice.kind, _title(notice), notice.body, notice.url))
    if pairs:
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_NOTICES,
                [*map(list, zip(*texts, strict=True)), *map(list, zip(*pairs, strict=True)), now],
            )
    return emails


def queue_delivery(*, emails: int = 1) -> None:
    """Wake workers to send the emails waiting (after the caller's commit): one more for
    each EMAILS_PER_WAKE_UP of them, up to WAKE_UPS_AT_MOST, so that a burst is shared
    by the email pool's processes (each claims its own chunks)."""
    wake_ups = min(WAKE_UPS_AT_MOST, 1 + max(emails - 1, 0) // EMAILS_PER_WAKE_UP)
    transaction.on_commit(lambda: _queue_delivery(wake_ups))


def _queue_delivery(wake_ups: int = 1) -> None:
    # The broker only wakes a worker: if Redis is down, the person's action has
    # still succeeded and the beat's sweep delivers the email later.
    from alignment.tasks import deliver_emails

    try:
        for _ in range(wake_ups):
            deliver_emails.delay()
    except Exception:  # noqa: BLE001 - any broker failure
        log.warning("could not queue email delivery; the periodic sweep will", exc_info=True)


def deliver_pending(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Send the emails waiting, over one connection to the mail server, until none is
    left (or DELIVERY_BUDGET has passed; the next wake-up goes on). Several workers
    share the work: each claims its own chunks. Returns how many were sent."""
    started = time.monotonic()
    sent = 0
    with _MailServer() as server:
        while time.monotonic() - started < DELIVERY_BUDGET and (limit is None or sent < limit):
            chunk = _claim_chunk(now, CHUNK if limit is None else min(CHUNK, limit - sent))
            if not chunk:
                break
            done, connection_lost = _send_chunk(server, chunk, now)
            sent += done
            if connection_lost:
                break  # the server is down or hung: the next wake-up tries again
    return sent


def _due(at: datetime) -> Q:
    return (
        Q(email_state=EmailState.PENDING, email_claimed_at__isnull=True)
        | Q(email_state=EmailState.PENDING, email_claimed_at__lt=at - RETRY_AFTER)
        | Q(email_state=EmailState.SENDING, email_claimed_at__lt=at - CLAIM_TIMEOUT)
    )


def _claim_chunk(now: datetime | None, size: int) -> list[Notification]:
    """Claim up to `size` emails due, stamped with the time of the claim. Rows another
    worker is claiming are skipped, not waited for (SKIP LOCKED)."""
    at = now or clock.now()
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(_due(at))
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return []
        Notification.objects.filter(pk__in=ids).update(
            email_state=EmailState.SENDING, email_claimed_at=at
        )
    return list(
        Notification.objects.filter(pk__in=ids)
        .select_related("recipient")
        .order_by("created_at", "pk")
    )


def _send_chunk(server: _MailServer, chunk: list[Notification], now) -> tuple[int, bool]:
    """Send a claimed chunk, one message at a time, each marked sent as soon as the server
    accepted it; the claims on the rest are renewed every RENEW_EVERY, so a slow server
    never makes them look abandoned to another worker. (sent, connection lost?)"""
    stamp = chunk[0].email_claimed_at
    renewed = time.monotonic()
    sent = 0
    for position, notification in enumerate(chunk):
        if time.monotonic() - renewed > RENEW_EVERY.total_seconds():
            stamp = _renew(chunk[position:], stamp, now)
            renewed = time.monotonic()
        if notification.email_claimed_at != stamp:
            continue  # another worker took it over (we were stuck past CLAIM_TIMEOUT)
        try:
            server.send(_message(notification))
        except MailServerUnavailable:
            _release([n.pk for n in chunk[position:]], stamp)
            return sent, True
        except Exception as exc:  # noqa: BLE001 - what failed decides what happens next
            lost = _is_connection_problem(exc)
            _failed(notification, exc, stamp, now)
            if lost:
                _release([n.pk for n in chunk[position + 1 :]], stamp)
                return sent, True
            continue
        _mark_sent(notification.pk, stamp, now or clock.now())
        sent += 1
    return sent, False


_MARK_SENT = (
    "UPDATE alignment_notification SET email_state = %s, emailed_at = %s "
    "WHERE id = %s AND email_state = %s AND email_claimed_at = %s"
)


def _mark_sent(pk: int, stamp: datetime, at: datetime) -> None:
    # Once per email, right after the server's "accepted": plain SQL, for the ORM's
    # compiling of the same UPDATE each time was a large part of sending one.
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            _MARK_SENT, [EmailState.SENT, adapt(at), pk, EmailState.SENDING, adapt(stamp)]
        )


def _renew(rest: list[Notification], stamp: datetime, now) -> datetime:
    """Stamp the claims still ours afresh; a row another worker took over keeps its stamp
    (and is skipped)."""
    fresh = now or clock.now()
    ids = [n.pk for n in rest]
    Notification.objects.filter(
        pk__in=ids, email_state=EmailState.SENDING, email_claimed_at=stamp
    ).update(email_claimed_at=fresh)
    stamps = dict(Notification.objects.filter(pk__in=ids).values_list("pk", "email_claimed_at"))
    for notification in rest:
        notification.email_claimed_at = stamps.get(notification.pk)
    return fresh


def _release(ids: list[int], stamp: datetime) -> None:
    """Give back claims not tried (no attempt counted): due again at the next wake-up."""
    Notification.objects.filter(
        pk__in=ids, email_state=EmailState.SENDING, email_claimed_at=stamp
    ).update(email_state=EmailState.PENDING, email_claimed_at=None)


def _failed(notification: Notification, exc: BaseException, stamp: datetime, now) -> None:
    """Count an attempt: tried again after RETRY_AFTER, given up after MAX_ATTEMPTS (and
    then shown to admins among the failed emails)."""
    attempts = notification.email_attempts + 1
    error = f"{type(exc).__name__}: {exc}"[:2000]
    give_up = attempts >= MAX_ATTEMPTS
    Notification.objects.filter(
        pk=notification.pk, email_state=EmailState.SENDING, email_claimed_at=stamp
    ).update(
        email_state=EmailState.FAILED if give_up else EmailState.PENDING,
        email_claimed_at=now or clock.now(),
        email_attempts=attempts,
        email_error=error,
    )
    if give_up:
        log.error(
            "email for notification %s failed %d times; given up: %s",
            notification.pk,
            attempts,
            error,
        )
    else:
        log.warning(
            "email for notification %s failed (attempt %d): %s", notification.pk, attempts, error
        )


def _is_connection_problem(exc: BaseException) -> bool:
    """The server went away or stopped answering (not this message's fault)."""
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    # smtplib's errors are OSErrors too; the others (timeouts, refused) are the network's.
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def _subject(title: str) -> str:
    # A line break (say, in a lead's name) would be a header injection: one line only.
    return " ".join(f"[Alignment] {title}".split())


def _message_id(key: str) -> str:
    """The same for every attempt at one email, so a mail system can drop a copy sent
    again after a worker died between the server's "accepted" and our "sent"."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "alignment.local"
    return f"<{key}@{domain}>"


def _message(notification: Notification) -> EmailMessage:
    return EmailMessage(
        subject=_subject(notification.title),
        body=_email_body([notification]),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient.email],
        headers={"Message-ID": _message_id(f"notification-{notification.pk}")},
    )


class MailServerUnavailable(Exception):
    """The mail server could not be reached, or did not answer within EMAIL_TIMEOUT."""


class _MailServer:
    """One connection to the mail server for a whole delivery run, opened on first use."""

    def __init__(self) -> None:
        self._connection = None

    def __enter__(self) -> _MailServer:
        return self

    def __exit__(self, *exc) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                log.debug("closing the mail connection failed", exc_info=True)

    def send(self, message: EmailMessage) -> None:
        if self._connection is None:
            connection = get_connection()
            try:
                connection.open()
            except Exception as exc:
                raise MailServerUnavailable(str(exc)) from exc
            self._connection = connection
        try:
            self._connection.send_messages([message])
        except Exception as exc:
            if _is_connection_problem(exc):
                self._connection.close()  # a new one next time (next wake-up)
                self._connection = None
            raise


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
    with _MailServer() as server:
        for user, items in waiting.items():
            ids = [n.pk for n in items]
            with transaction.atomic():
                claimed = Notification.objects.filter(
                    pk__in=ids, email_state=EmailState.DIGEST
                ).update(email_state=EmailState.IN_DIGEST, emailed_at=now)
                if claimed != len(ids):
                    # Another run claimed some of them: leave this person to that run.
                    transaction.set_rollback(True)
                    continue
                server.send(
                    EmailMessage(
                        subject=_subject(f"Your daily digest: {len(items)} update(s)"),
                        body=_email_body(items),
                        from_email=settings.DEFAULT_FROM_EMAIL,
                        to=[user.email],
                        headers={"Message-ID": _message_id(f"digest-{ids[0]}-{len(ids)}")},
                    )
                )
            sent += 1
    return sent


def send_failed_again(*, ids: Iterable[int]) -> int:
    """Emails given up on, queued again with fresh attempts (once their cause is mended)."""
    with transaction.atomic():
        again = Notification.objects.filter(pk__in=list(ids), email_state=EmailState.FAILED).update(
            email_state=EmailState.PENDING, email_claimed_at=None, email_attempts=0
        )
        if again:
            queue_delivery()
    return again


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
