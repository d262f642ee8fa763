"""The SLA scan under stress: racing scans, two beats, killed workers, Redis down.

Against real PostgreSQL, real Celery workers and beats on Redis, and a real
SMTP conversation. Time-machine does not reach a subprocess, so the clocks a
subprocess scans are made due by handing the leads off in the past (Monday
2026-11-16, before "now" on this machine) or by moving their deadlines in SQL.
"""

import contextlib
import datetime as dt
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
import time_machine
from celery import Celery, current_app
from django.core import mail
from django.db import connection, transaction
from django.db.models import Count, F

from alignment import clock, notifications
from alignment.celery import app as celery_app
from alignment.models import Notification
from alignment.tasks import deliver_emails
from leads import services as lead_services
from leads.models import Lead, LeadEvent
from sla.models import ArbiterCase, Clock, ClockEvent
from sla.scan import scan
from tests.processes import ROOT, clean_env, database_url_for_workers, running, wait_for
from tests.reliability.smtp_sink import SmtpSink
from tests.reliability.test_lead_races import run_together
from tests.sla.engine import MONDAY_10_NY, agreement, hand_off_many  # noqa: F401 - a fixture

# Monday 11:00 New York: the 1-hour "Hot" deadline of a lead handed off at 10:00.
MONDAY_DUE = MONDAY_10_NY + dt.timedelta(hours=1)


def event_counts(kind: str) -> list[int]:
    """How many events of `kind` each clock has (one entry per clock that has any)."""
    rows = ClockEvent.objects.filter(kind=kind).values("clock").annotate(n=Count("id"))
    return sorted(row["n"] for row in rows)


def duplicate_notifications() -> list[dict]:
    rows = Notification.objects.values("recipient", "key").annotate(n=Count("id"))
    return list(rows.filter(n__gt=1))


def subprocess_env(tmp_path, **extra: str) -> dict[str, str]:
    defaults = {
        "DATABASE_URL": database_url_for_workers(),
        "ALIGNMENT_VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "memory://",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }
    return clean_env(**{**defaults, **extra})


def scan_sla(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "scan_sla"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def worker_args(queue: str, *, concurrency: int = 1) -> list[str]:
    pool = ["--pool", "solo"] if concurrency == 1 else ["--pool", "prefork", "-c", str(concurrency)]
    return [
        "celery", "-A", "alignment", "worker", "-Q", queue, *pool,
        "-n", f"{queue}-{uuid.uuid4().hex[:6]}@%h",
        "--without-gossip", "--without-mingle", "-l", "INFO",
    ]  # fmt: skip


def beat_args(schedule) -> list[str]:
    return ["celery", "-A", "alignment", "beat", "-s", str(schedule), "-l", "INFO"]


def worker_env(tmp_path, *, broker: str, queue: str, **extra: str) -> dict[str, str]:
    """Worker and beat share a queue of their own (the beat sends to the default queue)."""
    return subprocess_env(
        tmp_path, CELERY_BROKER_URL=broker, CELERY_TASK_DEFAULT_QUEUE=queue, **extra
    )


def free_port() -> int:
    """A free port below the ephemeral range (32768+), so that no client socket takes it
    while our Redis is down and we mean to start it again on the same port."""
    for _ in range(50):
        port = random.randrange(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port between 20000 and 32000")


@contextlib.contextmanager
def own_redis(tmp_path, port: int):
    """A Redis server of this test's own (never the shared one): it may be stopped."""
    log = open(tmp_path / f"redis-{port}.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--dir", str(tmp_path)],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(
            lambda: proc.poll() is not None or _answers(port),
            timeout=10,
            what=f"redis-server on port {port}",
        )
        assert proc.poll() is None, f"redis-server could not start on port {port}"
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def wait_running(procs, condition, *, timeout: float, what: str, logs) -> None:
    """wait_for, failing at once (with the logs) if a worker or beat has died meanwhile."""

    def check():
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            tails = "\n".join(f"--- {log}\n{log.read_text()[-3000:]}" for log in logs)
            raise AssertionError(f"a process exited while waiting for {what}\n{tails}")
        return condition()

    wait_for(check, timeout=timeout, what=what, logs=logs)


def send_task(broker: str, name: str, queue: str) -> None:
    # Not set as the current app, or every shared task in this process would follow it.
    producer = Celery(broker=broker, set_as_current=False)
    try:
        producer.send_task(name, queue=queue)
    finally:
        producer.close()


needs_redis_server = pytest.mark.skipif(
    not any(
        os.access(os.path.join(d, "redis-server"), os.X_OK)
        for d in os.environ.get("PATH", "").split(os.pathsep)
    ),
    reason="no redis-server binary to start a Redis of the test's own",
)


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


# -- a worker killed while sending email --------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@needs_redis_server
@pytest.mark.usefixtures("agreement", "territories")
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_sending_email_sends_nothing_recorded_as_sent_again_and_loses_none(
    org, tmp_path, monkeypatch
):
    hand_off_many(org, "Mail", 5, at=MONDAY_10_NY)
    Clock.objects.update(warned_at=F("warn_at"))
    # The scan's own "deliver now" is left out: the worker below is asked explicitly.
    monkeypatch.setattr(notifications, "_queue_delivery", lambda: None)
    assert str(scan()) == "warned 0, breached 5, escalated 5"
    # Breaches to the rep and the manager, escalations to the arbiter: 15 emails waiting.
    assert Notification.objects.filter(email_state="pending").count() == 15

    port, queue = free_port(), f"test-mail-{uuid.uuid4().hex[:8]}"
    broker = f"redis://127.0.0.1:{port}/0"
    with own_redis(tmp_path, port), SmtpSink(stall_on=6) as sink:
        env = worker_env(
            tmp_path,
            broker=broker,
            queue=queue,
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(sink.port),
        )
        first_log = tmp_path / "worker1.log"
        with running(worker_args(queue), env, first_log) as worker:
            send_task(broker, "alignment.tasks.deliver_emails", queue)
            wait_running(
                [worker], sink.stalled.is_set, timeout=60, what="the 6th email", logs=[first_log]
            )
            os.killpg(worker.pid, signal.SIGKILL)  # while the server holds the 6th message
            worker.wait(timeout=10)
        states = dict(
            Notification.objects.values_list("email_state")
            .annotate(n=Count("id"))
            .values_list("email_state", "n")
        )
        assert states == {"sent": 5, "sending": 1, "pending": 9}
        sent_before = {
            (n.recipient.email, f"[Alignment] {n.title}")
            for n in Notification.objects.filter(email_state="sent").select_related("recipient")
        }
        assert len(sink.delivered) == 5
        sink.release()

        # Ten minutes later (CLAIM_TIMEOUT) the row left "sending" is taken again.
        Notification.objects.filter(email_state="sending").update(
            email_claimed_at=F("email_claimed_at") - dt.timedelta(minutes=11)
        )
        second_log = tmp_path / "worker2.log"
        with running(worker_args(queue), env, second_log) as worker:
            send_task(broker, "alignment.tasks.deliver_emails", queue)
            wait_running(
                [worker],
                lambda: Notification.objects.filter(email_state="sent").count() == 15,
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


# -- two beat processes by mistake --------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@needs_redis_server
@pytest.mark.usefixtures("agreement", "territories")
@pytest.mark.django_db(transaction=True)
def test_two_beats_by_mistake_breach_and_notify_each_clock_once(org, tmp_path):
    hand_off_many(org, "Beat", 30, at=MONDAY_10_NY)
    port, queue = free_port(), f"test-beat-{uuid.uuid4().hex[:8]}"
    # A Redis of its own: the beats keep queueing scans until they stop, and those
    # leftovers go with the server rather than stay in the shared one.
    env = worker_env(
        tmp_path, broker=f"redis://127.0.0.1:{port}/0", queue=queue, SLA_SCAN_SECONDS="1"
    )
    logs = [tmp_path / "worker.log", tmp_path / "beat1.log", tmp_path / "beat2.log"]
    # Two worker processes, so the two beats' scans really run at the same time.
    with (
        own_redis(tmp_path, port),
        running(worker_args(queue, concurrency=2), env, logs[0]) as worker,
        running(beat_args(tmp_path / "beat1"), env, logs[1]) as beat1,
        running(beat_args(tmp_path / "beat2"), env, logs[2]) as beat2,
    ):
        wait_running(
            [worker, beat1, beat2],
            lambda: Clock.objects.filter(escalated_at__isnull=False).count() == 30,
            timeout=60,
            what="30 clocks breached and escalated",
            logs=logs,
        )
        # Both beats keep sending scans; let each send a few more over the finished work.
        wait_running(
            [worker, beat1, beat2],
            lambda: all(log.read_text().count("sla-scan") >= 3 for log in logs[1:]),
            timeout=20,
            what="both beats sending scans",
            logs=logs,
        )
    assert Clock.objects.filter(state="breached", breached_at=MONDAY_DUE).count() == 30
    assert event_counts("sla_warning") == []  # found after their deadlines: breached, not warned
    assert event_counts("sla_breached") == [1] * 30
    assert event_counts("escalated") == [1] * 30
    assert ArbiterCase.objects.count() == 30
    assert duplicate_notifications() == []
    assert Notification.objects.filter(kind="sla_breached").count() == 60


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
    port, queue = free_port(), f"test-outage-{uuid.uuid4().hex[:8]}"
    broker = f"redis://127.0.0.1:{port}/0"
    broker_at(broker)
    late = hand_off_many(org, "Late", 1, at=MONDAY_10_NY)[0]  # due long ago
    accepted, rejected, touched = hand_off_many(org, "Web", 3)
    outage = hand_off_many(org, "Outage", 10)  # due on Monday: moved into the outage below

    with own_redis(tmp_path, port):
        deliver_emails.delay()  # the web app talks to this broker...
    # ...and then it is gone.
    down_since = clock.now()
    assert not _answers(port)

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

    env = worker_env(tmp_path, broker=broker, queue=queue, SLA_SCAN_SECONDS="1")
    logs = [tmp_path / "worker.log", tmp_path / "beat.log"]
    with (
        own_redis(tmp_path, port),
        running(worker_args(queue), env, logs[0]) as worker,
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
