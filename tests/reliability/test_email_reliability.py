"""Email under faults, with real workers on Redis and a real SMTP conversation.

A mail server that never answers holds only the email pool, never the scan;
a slow one does not make a second worker send copies; a worker killed while
sending sends nothing recorded as sent again, and loses nothing.
"""

import datetime as dt
import threading

import pytest
from django.db.models import Count, F

from alignment import notifications
from alignment.models import Notification
from sla.models import Clock
from sla.scan import scan
from tests.processes import running
from tests.reliability.smtp_sink import SmtpSink
from tests.reliability.stack import (
    beat_args,
    free_port,
    kill_group,
    needs_redis_server,
    own_redis,
    send_task,
    wait_running,
    worker_args,
    worker_env,
)
from tests.sla.engine import MONDAY_10_NY, agreement, hand_off_many  # noqa: F401 - a fixture

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    needs_redis_server,
    pytest.mark.usefixtures("agreement", "territories"),
    pytest.mark.django_db(transaction=True),
]


def smtp_env(tmp_path, broker: str, sink: SmtpSink, **extra: str) -> dict[str, str]:
    return worker_env(
        tmp_path,
        broker=broker,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(sink.port),
        **extra,
    )


def states() -> dict[str, int]:
    rows = Notification.objects.values_list("email_state").annotate(n=Count("id"))
    return dict(rows.values_list("email_state", "n"))


def test_a_hung_mail_server_holds_only_the_email_pool_and_the_scan_goes_on(org, tmp_path):
    # Due long ago: 60 emails (rep and manager), more than one worker claims at once.
    first = hand_off_many(org, "Hung", 30, at=MONDAY_10_NY)
    later = hand_off_many(org, "Later", 10)  # due in an hour: moved below
    port = free_port()
    with own_redis(tmp_path, port), SmtpSink(hang=True) as sink:
        # The email pool has two slots, as the scan pool once shared: both hang.
        env = smtp_env(tmp_path, f"redis://127.0.0.1:{port}/0", sink, SLA_SCAN_SECONDS="1")
        env["EMAIL_TIMEOUT"] = "120"  # longer than this test: the mail server stays stuck
        logs = [tmp_path / name for name in ("scan.log", "email.log", "beat.log")]
        with (
            running(worker_args("scan"), env, logs[0]) as scanner,
            running(worker_args("email", concurrency=2), env, logs[1]) as mailer,
            running(beat_args(tmp_path / "beat"), env, logs[2]) as beat,
        ):
            procs = [scanner, mailer, beat]
            wait_running(
                procs,
                lambda: Clock.objects.filter(lead__in=first, state="breached").count() == 30,
                timeout=60,
                what="the first breaches",
                logs=logs,
            )
            broker = f"redis://127.0.0.1:{port}/0"
            send_task(broker, "alignment.tasks.deliver_emails")  # a second email slot busy too
            wait_running(
                procs, lambda: sink.sessions >= 2, timeout=30, what="both email slots", logs=logs
            )
            # Both email slots are stuck in the mail server; deadlines keep falling due.
            Clock.objects.filter(lead__in=later).update(
                due_at=F("started_at") - dt.timedelta(seconds=1)
            )
            wait_running(
                procs,
                lambda: Clock.objects.filter(lead__in=later, state="breached").count() == 10,
                timeout=30,
                what="breaches while the mail server hangs",
                logs=logs,
            )
            sink.release()  # lets the stuck workers go, so that they stop quickly
    assert sink.delivered == []  # nothing got through the stuck server...
    assert states().get("sent", 0) == 0  # ...and nothing is recorded as sent


def test_a_slow_mail_server_and_two_workers_send_each_email_once(org, tmp_path, monkeypatch):
    # The scan's own wake-up is left out: the test wakes the workers itself.
    monkeypatch.setattr(notifications, "_queue_delivery", lambda wake_ups=1: None)
    hand_off_many(org, "Slow", 10, at=MONDAY_10_NY)
    Clock.objects.update(warned_at=F("warn_at"))
    assert str(scan()) == "warned 0, breached 10, escalated 10"
    assert states() == {"pending": 30}
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    # 0.3 s a message: one worker's chunk takes 9 s, far past a claim timeout of 2 s, so
    # without renewed claims the other worker would take the rest and send them again.
    with own_redis(tmp_path, port), SmtpSink(delay=0.3) as sink:
        env = smtp_env(tmp_path, broker, sink, EMAIL_CLAIM_SECONDS="2")
        log = tmp_path / "email.log"
        with running(worker_args("email", concurrency=2), env, log) as mailer:
            stop = threading.Event()

            def wake_up_every_half_second():
                while not stop.wait(0.5):
                    send_task(broker, "alignment.tasks.deliver_emails")

            waker = threading.Thread(target=wake_up_every_half_second, daemon=True)
            waker.start()
            try:
                wait_running(
                    [mailer],
                    lambda: states() == {"sent": 30},
                    timeout=90,
                    what="every email sent",
                    logs=[log],
                )
            finally:
                stop.set()
                waker.join()
    ids = [m.message_id for m in sink.delivered]
    assert len(ids) == len(set(ids)) == 30
    notified = Notification.objects.values_list("pk", flat=True)
    assert set(ids) == {f"<notification-{pk}@localhost>" for pk in notified}


def test_a_worker_killed_while_sending_email_sends_nothing_recorded_as_sent_again_and_loses_none(
    org, tmp_path, monkeypatch
):
    hand_off_many(org, "Mail", 5, at=MONDAY_10_NY)
    Clock.objects.update(warned_at=F("warn_at"))
    # The scan's own "deliver now" is left out: the worker below is asked explicitly.
    monkeypatch.setattr(notifications, "_queue_delivery", lambda wake_ups=1: None)
    assert str(scan()) == "warned 0, breached 5, escalated 5"
    # Breaches to the rep and the manager, escalations to the arbiter: 15 emails waiting.
    assert states() == {"pending": 15}

    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    with own_redis(tmp_path, port), SmtpSink(stall_on=6) as sink:
        env = smtp_env(tmp_path, broker, sink)
        first_log = tmp_path / "worker1.log"
        with running(worker_args("email"), env, first_log) as worker:
            send_task(broker, "alignment.tasks.deliver_emails")
            wait_running(
                [worker], sink.stalled.is_set, timeout=60, what="the 6th email", logs=[first_log]
            )
            kill_group(worker)  # while the server holds the 6th message
        # Five marked sent one by one as the server accepted them; the rest of the chunk
        # still claimed by the dead worker.
        assert states() == {"sent": 5, "sending": 10}
        sent_before = {
            (n.recipient.email, f"[Alignment] {n.title}")
            for n in Notification.objects.filter(email_state="sent").select_related("recipient")
        }
        assert len(sink.delivered) == 5
        sink.release()

        # Once its claims are older than CLAIM_TIMEOUT, another worker takes them.
        Notification.objects.filter(email_state="sending").update(
            email_claimed_at=F("email_claimed_at") - notifications.CLAIM_TIMEOUT
        )
        second_log = tmp_path / "worker2.log"
        with running(worker_args("email"), env, second_log) as worker:
            send_task(broker, "alignment.tasks.deliver_emails")
            wait_running(
                [worker],
                lambda: states() == {"sent": 15},
                timeout=60,
                what="every email sent",
                logs=[second_log],
            )
    delivered = [(m.recipients[0], m.subject) for m in sink.delivered]
    expected = {
        (n.recipient.email, f"[Alignment] {n.title}")
        for n in Notification.objects.select_related("recipient")
    }
    assert set(delivered) == expected  # nothing lost
    assert all(delivered.count(message) == 1 for message in sent_before)  # nothing sent twice
    # The one in flight at the kill was never acknowledged by the server: sent once, after.
    assert len(delivered) == len(expected) == 15
