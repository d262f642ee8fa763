import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from alignment import clock
from alignment.models import EmailState, Notification
from alignment.notifications import deliver_pending, notify, send_digests

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
    assert deliver_pending(now=start + dt.timedelta(minutes=5)) == 0
    assert deliver_pending(now=start + dt.timedelta(minutes=11)) == 1
    assert len(mail.outbox) == 1


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
