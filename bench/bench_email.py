"""Does email delivery keep up with the scan? A burst of 8,000 notifications to a sink.

4,000 clocks breach in one scan: 8,000 notifications (the rep and the manager
each), all waiting to be emailed. Then the production path delivers them: real
Celery workers on the email queue (Redis), SMTP to a local sink (the test
suite's, tests/reliability/smtp_sink.py), woken the way the scan wakes them.
Measured from the wake-up to the sink's last "250 OK", with one worker process
and with two (the machine has 2 cores). The baseline, in the same run: the
same 8,000 messages sent to the same sink by a bare smtplib loop over one
connection (the simplest way there is). Aim: the burst delivered within
2 minutes; figure: delivery / bare loop.

    python -m bench.bench_email
"""

from __future__ import annotations

import json
import os
import smtplib
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from bench import own_database

CHILD_FLAG = "BENCH_EMAIL_CHILD"
RESULT_PREFIX = own_database.RESULT_PREFIX
CLOCKS = int(os.environ.get("BENCH_EMAIL_CLOCKS", "4000"))
POOLS = (1, 2)
AIM_SECONDS = 120


def main() -> dict[str, float]:
    if os.environ.get(CHILD_FLAG):
        return _child()
    return own_database.run(
        module="bench.bench_email",
        database="alignment_bench_email",
        child_flag=CHILD_FLAG,
        env={"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"},
    )


def _child() -> dict[str, float]:
    import django

    django.setup()
    from django.core.management import call_command

    from bench import processes
    from bench.bench_scan import _insert, _world
    from tests.reliability.smtp_sink import SmtpSink

    call_command("migrate", verbosity=0)
    world = _world()
    clocks = _insert(
        world,
        tag="burst",
        count=CLOCKS,
        due_sql="%(now)s - interval '1 minute' - (g || ' milliseconds')::interval",
        warned=True,
    )
    notifications = 2 * CLOCKS
    print(f"a burst of {len(clocks):,} breaches: {notifications:,} emails to deliver")
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as name, processes.redis_server(Path(name)) as broker:
        folder = Path(name)
        for slots in POOLS:
            _burst_of_breaches(clocks)
            with SmtpSink() as sink:
                env = processes.app_env(
                    broker,
                    folder,
                    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                    EMAIL_HOST="127.0.0.1",
                    EMAIL_PORT=str(sink.port),
                )
                log = folder / f"email-{slots}.log"
                args = processes.worker_args("email", concurrency=slots)
                with processes.running(args, env, log):
                    processes.wait_for(
                        lambda log=log: "ready" in log.read_text(),
                        timeout=60,
                        what="the email worker",
                        logs=[log],
                    )
                    started = time.perf_counter()
                    _wake_up(broker, notifications)
                    processes.wait_for(
                        lambda sink=sink: len(sink.delivered) >= notifications,
                        timeout=AIM_SECONDS * 3,
                        what=f"{notifications:,} emails",
                        logs=[log],
                    )
                    elapsed = time.perf_counter() - started
                ids = {m.message_id for m in sink.delivered}
                assert len(sink.delivered) == len(ids) == notifications, "a copy was sent"
            rate = notifications / elapsed
            print(
                f"  {slots} email worker process(es): {elapsed:.1f} s, {rate:,.0f} emails/s "
                f"({sink.sessions} SMTP connection(s); aim: within {AIM_SECONDS} s)"
            )
            result[f"email_{slots}_workers_s"] = elapsed
        bare = _bare_loop(notifications)
    print(f"  bare smtplib loop over one connection: {bare:.1f} s")
    for slots in POOLS:
        ratio = result[f"email_{slots}_workers_s"] / bare
        print(f"  {slots} worker(s) / bare loop: {ratio:.2f}x")
        result[f"email_{slots}_workers_vs_bare_ratio"] = ratio
    print(RESULT_PREFIX + json.dumps(result))
    return result


def _burst_of_breaches(clocks: list[int]) -> None:
    """The clocks due again and breached by one scan: their notifications wait."""
    from django.db import connection

    from alignment import clock
    from alignment.models import Notification
    from bench.bench_scan import _rearm
    from sla.scan import scan

    _rearm(clocks)
    result = scan(now=clock.now())
    assert result.breached == len(clocks), result
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE alignment_notification")
    assert Notification.objects.filter(email_state="pending").count() == 2 * len(clocks)


def _wake_up(broker: str, emails: int) -> None:
    """What the scan's queue_delivery() does after its commit: a wake-up per
    EMAILS_PER_WAKE_UP emails, up to WAKE_UPS_AT_MOST."""
    from celery import Celery

    from alignment.notifications import EMAILS_PER_WAKE_UP, WAKE_UPS_AT_MOST

    wake_ups = min(WAKE_UPS_AT_MOST, 1 + (emails - 1) // EMAILS_PER_WAKE_UP)

    producer = Celery(broker=broker, set_as_current=False)
    # CELERY_BROKER_URL in the environment (memory:// here) would win over broker=.
    producer.conf.broker_write_url = broker
    try:
        for _ in range(wake_ups):
            producer.send_task("alignment.tasks.deliver_emails", queue="email")
    finally:
        producer.close()


def _bare_loop(count: int) -> float:
    """The same number of messages, built and sent by hand over one connection."""
    from tests.reliability.smtp_sink import SmtpSink

    with SmtpSink() as sink:
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
            for n in range(count):
                message = EmailMessage()
                message["Subject"] = f"[Alignment] Breached: accept or reject for Bench {n}"
                message["From"] = "Alignment <alignment@localhost>"
                message["To"] = "ravi@demo.alignment.test"
                message["Message-ID"] = f"<bare-{n}@localhost>"
                message.set_content("Due Mon 16 Nov 11:00 UTC; held by Ravi.\n")
                smtp.send_message(message)
        elapsed = time.perf_counter() - started
        assert len(sink.delivered) == count
    return elapsed


if __name__ == "__main__":
    main()
