import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse

from alignment import clock, notifications
from alignment.models import EmailState, Notification
from alignment.notifications import deliver_pending, notify, send_digests
from tests.reliability.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db


def test_one_notification_per_event_per_person_even_when_sent_twice(org):
    people = [org["ravi"], org["sam"]]
    assert notify(recipients=people, key="breach:1", kind="sla_breached", title="Breach") == 2
    assert notify(recipients=people, key="breach:1", kind="sla_breached", title="Breach") == 0
    assert Notification.objects.count() == 2


def test_pending_emails_are_sent_once_even_when_delivery_runs_twice(org):
    notify(recipients=[org["ravi"]], key="k1", kind="x", title="Lead waiting", url="/leads/1/")
    assert deliver_pending() == 1
    assert deliver_pending() == 0
    assert len(mail.outbox) == 1
    assert "Lead waiting" in mail.outbox[0].subject
    assert "/leads/1/" in mail.outbox[0].body
    assert Notification.objects.get().email_state == EmailState.SENT


def test_an_email_claimed_by_a_worker_that_died_is_retried_after_the_timeout(org):
    notify(recipients=[org["ravi"]], key="k2", kind="x", title="T")
    start = clock.now()
    Notification.objects.update(email_state=EmailState.SENDING, email_claimed_at=start)
    timeout = notifications.CLAIM_TIMEOUT
    assert deliver_pending(now=start + timeout - dt.timedelta(seconds=1)) == 0
    assert deliver_pending(now=start + timeout + dt.timedelta(seconds=1)) == 1
    assert len(mail.outbox) == 1


def test_a_line_break_in_a_title_does_not_stop_its_email(org):
    notify(recipients=[org["ravi"]], key="nl", kind="x", title="Breached: Eve\nBcc: x@example.com")
    assert deliver_pending() == 1
    (message,) = mail.outbox
    assert message.subject == "[Alignment] Breached: Eve Bcc: x@example.com"
    assert message.bcc == []
    assert Notification.objects.get().email_state == EmailState.SENT


@pytest.fixture
def smtp(settings):
    """Email through a real SMTP conversation with a sink on 127.0.0.1 (started per test)."""
    sinks = []

    def start(**options) -> SmtpSink:
        sink = SmtpSink(**options).__enter__()
        sinks.append(sink)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_TIMEOUT = 1
        return sink

    yield start
    for sink in sinks:
        sink.__exit__(None, None, None)


def test_many_emails_go_over_one_connection_each_with_its_notification_id(org, smtp):
    sink = smtp()
    for n in range(30):
        notify(recipients=[org["ravi"]], key=f"c{n}", kind="x", title=f"Update {n}")
    assert deliver_pending() == 30
    assert sink.sessions == 1
    ids = {f"<notification-{n.pk}@localhost>" for n in Notification.objects.all()}
    assert {m.message_id for m in sink.delivered} == ids
    assert Notification.objects.filter(email_state=EmailState.SENT).count() == 30


def test_an_email_that_cannot_be_sent_fails_after_bounded_retries_and_admins_see_it(
    org, smtp, client
):
    sink = smtp(refuse=frozenset({org["ravi"].email}))
    notify(recipients=[org["ravi"], org["sam"]], key="r1", kind="x", title="Refused for Ravi")
    start = clock.now()
    assert deliver_pending(now=start) == 1  # Sam's; Ravi's is refused, the run goes on
    ravi = Notification.objects.get(recipient=org["ravi"])
    assert (ravi.email_state, ravi.email_attempts) == (EmailState.PENDING, 1)
    assert "550" in ravi.email_error
    assert deliver_pending(now=start + dt.timedelta(minutes=1)) == 0  # not before its time
    assert Notification.objects.get(pk=ravi.pk).email_attempts == 1
    at = start
    for _ in range(2, notifications.MAX_ATTEMPTS + 1):
        at += notifications.RETRY_AFTER + dt.timedelta(seconds=1)
        deliver_pending(now=at)
    ravi.refresh_from_db()
    assert ravi.email_state == EmailState.FAILED
    assert ravi.email_attempts == notifications.MAX_ATTEMPTS
    assert deliver_pending(now=start + dt.timedelta(days=1)) == 0  # given up: no more tries
    assert [m.recipients for m in sink.delivered] == [(org["sam"].email,)]

    client.force_login(org["admin"])
    failed = client.get("/admin/alignment/notification/?email_state__exact=failed")
    assert failed.status_code == 200
    assert "No such user here" in failed.content.decode()  # the error, for the admin
    sent = client.get("/admin/alignment/notification/?email_state__exact=sent")
    assert "No such user here" not in sent.content.decode()

    sink.refuse = frozenset()  # the address is mended; the admin sends it again
    client.post(
        "/admin/alignment/notification/",
        {"action": "send_again", "_selected_action": [ravi.pk]},
    )
    assert Notification.objects.get(pk=ravi.pk).email_state == EmailState.PENDING
    assert deliver_pending() == 1
    assert sink.delivered[-1].recipients == (org["ravi"].email,)


def test_the_failed_emails_list_makes_a_bounded_number_of_queries(org, client, count_queries):
    def fail(n):
        notify(recipients=[org["ravi"]], key=f"f{n}", kind="x", title="T")
        Notification.objects.filter(key=f"f{n}").update(email_state=EmailState.FAILED)

    client.force_login(org["admin"])
    url = "/admin/alignment/notification/?email_state__exact=failed"
    fail(0)
    few = count_queries(lambda: client.get(url))
    for n in range(1, 30):
        fail(n)
    assert count_queries(lambda: client.get(url)) == few


def test_only_admins_see_the_notifications_in_the_admin(org, client):
    client.force_login(org["sam"])
    assert client.get("/admin/alignment/notification/").status_code in (302, 403)


def test_a_mail_server_that_never_answers_stops_delivery_quickly_and_costs_no_attempt(org, smtp):
    smtp(hang=True)
    for n in range(3):
        notify(recipients=[org["ravi"]], key=f"h{n}", kind="x", title="T")
    assert deliver_pending() == 0  # gave up after EMAIL_TIMEOUT (1 s here)
    rows = Notification.objects.values_list("email_state", "email_attempts", "email_claimed_at")
    assert set(rows) == {(EmailState.PENDING, 0, None)}  # all due again at the next wake-up


def test_digest_people_get_one_email_with_everything(org):
    ravi = org["ravi"]
    ravi.email_notifications = "digest"
    ravi.save()
    for n in range(3):
        notify(recipients=[ravi], key=f"d{n}", kind="x", title=f"Update {n}")
    assert deliver_pending() == 0
    with time_machine.travel(clock.now() + dt.timedelta(hours=1), tick=False):
        assert send_digests() == 1
        assert send_digests() == 0
    assert len(mail.outbox) == 1
    assert all(f"Update {n}" in mail.outbox[0].body for n in range(3))


def test_people_who_turned_email_off_get_only_the_in_app_notification(org):
    ravi = org["ravi"]
    ravi.email_notifications = "off"
    ravi.save()
    notify(recipients=[ravi], key="o1", kind="x", title="T")
    assert deliver_pending() == 0
    assert Notification.objects.get().email_state == EmailState.SKIPPED


def test_the_bell_counts_my_unread_ones_and_marking_read_clears_it(client, org):
    notify(recipients=[org["ravi"]], key="b1", kind="x", title="For Ravi")
    notify(recipients=[org["sam"]], key="b2", kind="x", title="For Sam")
    client.force_login(org["ravi"])
    assert (
        'data-testid="unread-count">1<' in client.get(reverse("notification_bell")).content.decode()
    )
    page = client.get(reverse("notifications")).content.decode()
    assert "For Ravi" in page
    assert "For Sam" not in page
    client.post(reverse("notifications"), {"form": "read"})
    assert "unread-count" not in client.get(reverse("notification_bell")).content.decode()


def test_bad_input_on_the_notifications_page_is_refused(client, org):
    client.force_login(org["ravi"])
    assert client.post(reverse("notifications"), {"form": "read", "id": "x"}).status_code == 400
    bad = client.post(
        reverse("notifications"), {"form": "preference", "email_notifications": "hourly"}
    )
    assert bad.status_code == 400
    org["ravi"].refresh_from_db()
    assert org["ravi"].email_notifications == "immediate"
    client.post(reverse("notifications"), {"form": "preference", "email_notifications": "digest"})
    org["ravi"].refresh_from_db()
    assert org["ravi"].email_notifications == "digest"


def test_the_notifications_page_makes_a_bounded_number_of_queries(client, org, count_queries):
    client.force_login(org["ravi"])
    notify(recipients=[org["ravi"]], key="q0", kind="x", title="T")
    few = count_queries(lambda: client.get(reverse("notifications")))
    for n in range(1, 30):
        notify(recipients=[org["ravi"]], key=f"q{n}", kind="x", title="T")
    assert count_queries(lambda: client.get(reverse("notifications"))) == few


def test_many_events_are_notified_in_one_statement_once_each(org, count_queries):
    ravi, sam, maya = org["ravi"], org["sam"], org["maya"]
    maya.email_notifications = "digest"
    maya.save()
    notices = [
        notifications.Notice([ravi, sam, maya], f"burst:{n}", "x", f"Event {n}", url=f"/{n}/")
        for n in range(3)
    ]
    # On PostgreSQL one round trip claims the batch's (recipient, key) pairs and inserts
    # the rows whose pair was new; on SQLite, bulk_create.
    assert count_queries(lambda: notifications.notify_many(notices=notices)) == 1
    notifications.notify_many(notices=notices)  # the same events again: nothing new
    assert Notification.objects.count() == 9
    rows = Notification.objects.filter(key="burst:2").values_list(
        "recipient__username", "title", "url", "email_state"
    )
    assert sorted(rows) == [
        ("maya", "Event 2", "/2/", "digest"),
        ("ravi", "Event 2", "/2/", "pending"),
        ("sam", "Event 2", "/2/", "pending"),
    ]


def test_a_batch_notifies_each_person_once_per_event_with_the_first_notice_text(org):
    ravi, sam = org["ravi"], org["sam"]
    notices = [
        notifications.Notice([ravi], "twice", "x", "First"),
        notifications.Notice([ravi, sam, None], "twice", "x", "Second"),
        notifications.Notice([sam, sam], "other", "x", "Line\nbreak  here"),
    ]
    assert notifications.notify_many(notices=notices, queue_delivery=False) == 3
    rows = Notification.objects.values_list("recipient__username", "key", "title")
    assert sorted(rows) == [
        ("ravi", "twice", "First"),
        ("sam", "other", "Line break here"),
        ("sam", "twice", "Second"),
    ]


@pytest.mark.postgres
def test_the_database_still_refuses_a_second_row_after_a_claimed_batch(org):
    """The batch's claimed keys let its own INSERT through the once-per-event trigger;
    the very next INSERT of the same transaction is checked by the trigger again."""
    ravi, sam = org["ravi"], org["sam"]
    notices = [notifications.Notice([ravi, sam], f"claim:{n}", "x", f"E{n}") for n in range(2)]
    insert = (
        "INSERT INTO alignment_notification (recipient_id, key, kind, title, body, url, "
        "created_at, email_state, email_attempts, email_error) "
        "VALUES (%s, %s, 'x', %s, '', '', now(), 'skipped', 0, '')"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        notifications.notify_many(notices=notices)
        cursor.execute(insert, [ravi.pk, "claim:0", "again"])
        assert cursor.rowcount == 0  # skipped by the trigger
        cursor.execute(insert, [ravi.pk, "claim:new", "new"])
        assert cursor.rowcount == 1
    assert sorted(Notification.objects.filter(recipient=ravi).values_list("key", "title")) == [
        ("claim:0", "E0"),
        ("claim:1", "E1"),
        ("claim:new", "new"),
    ]
