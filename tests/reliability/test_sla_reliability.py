"""The SLA scan under stress: racing scans, two beats, killed workers, Redis down.

Against real PostgreSQL, real Celery workers and beats on Redis, and a real
SMTP conversation. Time-machine does not reach a subprocess, so the clocks a
subprocess scans are made due by handing the leads off in the past (Monday
2026-11-16, before "now" on this machine) or by moving their deadlines in SQL.
"""

import datetime as dt
import logging
import signal
import subprocess
import sys
import threading
import time

import pytest
import time_machine
from celery import current_app
from django.core import mail
from django.db import connection, transaction
from django.db.models import Count, F
from kombu import pools as kombu_pools

from alignment import clock
from alignment.celery import app as celery_app
from alignment.models import Notification
from alignment.tasks import deliver_emails
from leads import services as lead_services
from leads.models import Lead, LeadEvent
from sla.models import ArbiterCase, Clock, ClockEvent
from sla.scan import scan
from tests.processes import ROOT, running
from tests.reliability.stack import (
    answers,
    beat_args,
    duplicate_notifications,
    event_counts,
    free_port,
    needs_redis_server,
    own_redis,
    scan_sla,
    subprocess_env,
    wait_running,
    worker_args,
    worker_env,
)
from tests.reliability.test_lead_races import run_together
from tests.sla.engine import MONDAY_10_NY, agreement, hand_off_many  # noqa: F401 - a fixture

# Monday 11:00 New York: the 1-hour "Hot" deadline of a lead handed off at 10:00.
MONDAY_DUE = MONDAY_10_NY + dt.timedelta(hours=1)


# -- two scans at once ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.usefixtures("agreement", "territories")
@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_breach_escalate_and_notify_each_clock_once(org):
    with time_machine.travel(MONDAY_10_NY, tick=False) as traveller:
        two_scans_at_once(org, traveller)


def two_scans_at_once(org, traveller):
    hand_off_many(org, "Race", 50)
    traveller.shift(dt.timedelta(minutes=50))  # 10:50: every warning is due

    outcomes = run_together(scan, scan)
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert sum(result.warned for _, result in outcomes) == 50
    assert event_counts("sla_warning") == [1] * 50

    traveller.shift(dt.timedelta(hours=1))  # 11:50: every 1-hour deadline has passed
    outcomes = run_together(scan, scan)
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert sum(result.breached for _, result in outcomes) == 50
    assert event_counts("sla_breached") == [1] * 50
    assert Clock.objects.filter(state="breached", breached_at=MONDAY_DUE).count() == 50

    # Escalation is due 4 business hours after the breach: 15:00.
    traveller.move_to(MONDAY_10_NY.replace(hour=15, minute=1))
    outcomes = run_together(scan, scan)
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert sum(result.escalated for _, result in outcomes) == 50
    assert ArbiterCase.objects.count() == 50
    assert event_counts("escalated") == [1] * 50

    assert duplicate_notifications() == []
    by_kind = dict(
        Notification.objects.values_list("kind").annotate(n=Count("id")).values_list("kind", "n")
    )
    # A warning to the rep; a breach to the rep and their manager; an escalation to the arbiter.
    assert by_kind == {"sla_warning": 50, "sla_breached": 100, "escalated": 50}
    # Delivery ran (eagerly) after each scan's commits, in both threads: one email each.
    assert Notification.objects.exclude(email_state="sent").count() == 0
    sent = [(tuple(m.to), m.subject) for m in mail.outbox]
    assert len(sent) == len(set(sent)) == 200


# -- a scan killed in the middle of a batch --------------------------------------------


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.usefixtures("agreement", "territories")
@pytest.mark.django_db(transaction=True)
def test_a_scan_killed_in_the_middle_of_a_batch_loses_nothing_and_the_next_breaches_each_once(
    org, tmp_path
):
    hand_off_many(org, "Kill", 20, at=MONDAY_10_NY)
    # Warnings already sent, so every clock the scan handles is a breach.
    Clock.objects.update(warned_at=F("warn_at"))

    # Batches of 5: the first commits; the process dies inside the second, after its
    # claim, events and notifications were written and before its commit.
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.reliability.crashing_scan", "5", "2"],
        cwd=ROOT,
        env=subprocess_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert crashed.stdout == ""  # it never got to say what it did
    assert Clock.objects.filter(state="breached").count() == 5
    assert event_counts("sla_breached") == [1] * 5
    assert Notification.objects.filter(kind="sla_breached").count() == 10

    finished = scan_sla(subprocess_env(tmp_path))
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "warned 0, breached 15, escalated 20"
    assert Clock.objects.filter(state="breached", breached_at=MONDAY_DUE).count() == 20
    assert event_counts("sla_breached") == [1] * 20
    assert event_counts("escalated") == [1] * 20
    breaches = ClockEvent.objects.filter(kind="sla_breached")
    assert breaches.exclude(occurred_at=MONDAY_DUE).count() == 0
    assert duplicate_notifications() == []
    assert Notification.objects.filter(kind="sla_breached").count() == 40
    assert Lead.objects.filter(stale_since=MONDAY_DUE).count() == 20


# -- Redis down for a while ---------------------------------------------------------------


@pytest.fixture
def broker_at(settings):
    """Point this process's Celery app at a real broker, as in a dev or production web app."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager
    previous_app = current_app._get_current_object()
    # Shared tasks (deliver_emails) use the current app: make sure it is ours.
    celery_app.set_current()

    def reset_connections():
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        # kombu keeps producer pools per broker URL for the whole process; one made
        # before (an eager task in an earlier test) holds connections closed above.
        kombu_pools.reset()

    def point(url: str) -> None:
        settings.CELERY_BROKER_URL = url
        settings.CELERY_TASK_ALWAYS_EAGER = False
        conf.broker_url, conf.task_always_eager = url, False
        reset_connections()

    yield point
    conf.broker_url, conf.task_always_eager = saved
    reset_connections()
    previous_app.set_current()


@pytest.mark.postgres
@pytest.mark.slow
@needs_redis_server
@pytest.mark.usefixtures("agreement", "territories")
@pytest.mark.django_db(transaction=True)
def test_with_redis_down_the_web_app_works_and_the_scan_catches_up_at_the_true_times(
    org, tmp_path, client, broker_at, caplog
):
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    broker_at(broker)
    late = hand_off_many(org, "Late", 1, at=MONDAY_10_NY)[0]  # due long ago
    accepted, rejected, touched = hand_off_many(org, "Web", 3)
    outage = hand_off_many(org, "Outage", 10)  # due on Monday: moved into the outage below

    with own_redis(tmp_path, port):
        deliver_emails.delay()  # the web app talks to this broker...
    # ...and then it is gone.
    down_since = clock.now()
    assert not answers(port)

    def post(lead, action, **data):
        client.force_login(lead.owner)
        response = client.post(f"/leads/{lead.pk}/{action}/", data)
        assert response.status_code < 400, (action, response.status_code)

    post(accepted, "accept")
    post(rejected, "reject", reason="no_budget")
    post(touched, "accept")
    post(touched, "touch", kind="call", outcome="connected")
    assert set(LeadEvent.objects.filter(lead=accepted).values_list("kind", flat=True)) >= {
        "accepted"
    }
    assert LeadEvent.objects.filter(lead=rejected, kind="rejected").exists()
    assert LeadEvent.objects.filter(lead=touched, kind="touched").exists()

    # Notifications are written with the breach; queueing their email fails quietly.
    with caplog.at_level(logging.WARNING, logger="alignment.notifications"):
        assert scan().breached == 1
    assert "could not queue email delivery" in caplog.text
    assert Notification.objects.filter(key__startswith="clock:", email_state="pending").exists()
    assert Clock.objects.get(lead=late).state == "breached"

    # Deadlines that fall due while Redis is down, spread over the outage.
    up_again = clock.now()
    step = (up_again - down_since) / (len(outage) + 1)
    clocks = list(Clock.objects.filter(lead__in=outage, state="running").order_by("pk"))
    assert len(clocks) == len(outage)
    for n, c in enumerate(clocks, start=1):
        due = down_since + step * n
        Clock.objects.filter(pk=c.pk).update(due_at=due, warn_at=due - dt.timedelta(minutes=1))

    env = worker_env(tmp_path, broker=broker, SLA_SCAN_SECONDS="1")
    logs = [tmp_path / "worker.log", tmp_path / "beat.log"]
    with (
        own_redis(tmp_path, port),
        running(worker_args(), env, logs[0]) as worker,
        running(beat_args(tmp_path / "beat"), env, logs[1]) as beat,
    ):
        wait_running(
            [worker, beat],
            lambda: (
                Clock.objects.filter(pk__in=[c.pk for c in clocks], state="breached").count()
                == len(clocks)
            ),
            timeout=60,
            what="the scan to catch up",
            logs=logs,
        )
        # The email queued while Redis was down goes out with the next delivery.
        wait_running(
            [worker, beat],
            lambda: not Notification.objects.filter(email_state="pending").exists(),
            timeout=30,
            what="the emails queued during the outage",
            logs=logs,
        )
    for c in Clock.objects.filter(pk__in=[c.pk for c in clocks]):
        breach = ClockEvent.objects.get(clock=c, kind="sla_breached")
        assert c.breached_at == c.due_at
        assert breach.occurred_at == c.due_at  # the true time, not when the scan noticed
        assert down_since < breach.occurred_at < up_again < breach.recorded_at


# -- a person and the scan on one lead at once --------------------------------------------


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def waited_past_deadlock_timeout(pid: int) -> bool:
    """Has backend `pid` been waiting for a lock for longer than deadlock_timeout?"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted AND "
            "clock_timestamp() - waitstart > current_setting('deadlock_timeout')::interval",
            [pid],
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.postgres
@pytest.mark.usefixtures("agreement", "territories")
@pytest.mark.django_db(transaction=True)
def test_a_rep_accepting_while_the_scan_breaches_the_same_lead_both_succeed(org):
    with time_machine.travel(MONDAY_10_NY, tick=False) as traveller:
        lead = hand_off_many(org, "Both", 1)[0]
        traveller.shift(dt.timedelta(hours=2))
        now = clock.now()
        lead_locked = threading.Event()
        scanner = []

        def scan_once_the_lead_is_locked():
            scanner.append(backend_pid())
            assert lead_locked.wait(timeout=10)
            return scan()

        def accept():
            # The rep's transaction has locked the lead (transition's select_for_update)
            # and is slow (a loaded server) to reach the lead's clocks.
            with transaction.atomic():
                locked = Lead.objects.select_for_update().get(pk=lead.pk)
                lead_locked.set()
                # The scan waits for the lead; PostgreSQL checks that wait for a deadlock
                # once, after deadlock_timeout (1 s). Then the rep's slow transaction
                # reaches the clock. When the scan locked the clock before the lead
                # (fixed in eb418b5), this was a deadlock found by the rep's own check,
                # and the rep's accept was the transaction aborted.
                for _ in range(200):  # bounded: 10 s
                    if scanner and waited_past_deadlock_timeout(scanner[0]):
                        break
                    time.sleep(0.05)
                return lead_services.lead_accept(lead=locked, by=lead.owner, now=now)

        (scan_outcome, scanned), (accept_outcome, accepted) = run_together(
            scan_once_the_lead_is_locked, accept
        )
    assert accept_outcome == "ok", accepted  # the rep's click must not fail
    assert scan_outcome == "ok", scanned
    assert event_counts("sla_breached") == [1]
    lead.refresh_from_db()
    assert lead.stage == "sal"
