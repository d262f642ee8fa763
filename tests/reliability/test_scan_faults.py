"""The scan under bad rows and a busy beat, in real processes against real PostgreSQL.

A thousand clocks that fail every time neither starve the healthy ones nor abort
the scan, and are reported once; a clock whose batch fails only at commit (a
deferred constraint) is found clock by clock; what a scan prints is what it
committed; and under a one-second beat no warning is ever recorded at or after
its deadline.
"""

import datetime as dt
import re
import uuid

import pytest
from django.db.models import F

from alignment import clock
from alignment.models import User
from sla.models import Clock, ClockEvent, ScanHold
from tests.processes import running
from tests.reliability.stack import (
    beat_args,
    free_port,
    needs_redis_server,
    own_redis,
    scan_sla,
    subprocess_env,
    wait_running,
    worker_args,
    worker_env,
)
from tests.sla.engine import MONDAY_10_NY, agreement, hand_off_many  # noqa: F401

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.usefixtures("agreement", "territories"),
    pytest.mark.django_db(transaction=True),
]


def room_for_many_leads(org) -> None:
    # A thousand leads' room for each Americas rep (an admin sets capacity in the admin).
    User.objects.filter(team=org["ravi"].team).update(capacity=2000)


def clocks_of(leads) -> list[int]:
    return list(Clock.objects.filter(lead__in=leads).values_list("pk", flat=True))


def test_a_thousand_failing_clocks_neither_starve_the_healthy_nor_abort_the_scan(
    org, tmp_path, refuse
):
    room_for_many_leads(org)
    failing = hand_off_many(org, "Bad", 1000, at=MONDAY_10_NY)
    at_commit = hand_off_many(org, "Late", 1, at=MONDAY_10_NY + dt.timedelta(minutes=1))
    healthy = hand_off_many(org, "Good", 10, at=MONDAY_10_NY + dt.timedelta(minutes=2))
    Clock.objects.update(warned_at=F("warn_at"))
    refuse(clocks_of(failing))  # at the claim, every time
    refuse(clocks_of(at_commit), at_commit=True)  # only when its batch commits
    env = subprocess_env(tmp_path, LOG_LEVEL="ERROR")

    first = scan_sla(env)
    assert first.returncode == 0, first.stderr[-3000:]
    # The healthy ones, due after the failing ones, are breached (and escalated) at once.
    assert first.stdout.strip() == (
        "warned 0, breached 10, escalated 10; held back after an error: 1001"
    )
    assert Clock.objects.filter(lead__in=healthy, state="breached").count() == 10
    assert ClockEvent.objects.filter(kind="sla_breached").count() == 10  # what it printed
    logged = set(re.findall(r"clock (\d+) failed at the breach step", first.stderr))
    assert logged == {str(pk) for pk in clocks_of([*failing, *at_commit])}  # each once

    second = scan_sla(env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.strip() == "warned 0, breached 0, escalated 0"  # held: not retried
    assert "failed" not in second.stderr  # and not logged again
    assert ScanHold.objects.count() == 1001


@needs_redis_server
@pytest.mark.redis
def test_under_a_busy_one_second_beat_no_warning_is_recorded_at_or_after_its_deadline(
    org, tmp_path
):
    room_for_many_leads(org)
    leads = hand_off_many(org, "Tight", 300)
    port = free_port()
    env = worker_env(tmp_path, broker=f"redis://127.0.0.1:{port}/0", SLA_SCAN_SECONDS="1")
    logs = [tmp_path / "scan.log", tmp_path / "beat.log"]
    with (
        own_redis(tmp_path, port),
        running(worker_args("scan,email", concurrency=2), env, logs[0]) as worker,
        running(beat_args(tmp_path / f"beat-{uuid.uuid4().hex[:6]}"), env, logs[1]) as beat,
    ):
        wait_running(
            [worker, beat],
            lambda: "succeeded" in logs[0].read_text(),
            timeout=60,
            what="the first scan",
            logs=logs,
        )
        # Warnings and deadlines a few hundred milliseconds apart, spread over 3 seconds.
        start = clock.now() + dt.timedelta(seconds=2)
        for n, pk in enumerate(clocks_of(leads)):
            due = start + dt.timedelta(milliseconds=10 * n)
            Clock.objects.filter(pk=pk).update(
                warn_at=due - dt.timedelta(milliseconds=400), due_at=due
            )
        wait_running(
            [worker, beat],
            lambda: Clock.objects.filter(lead__in=leads, state="breached").count() == 300,
            timeout=60,
            what="300 breaches",
            logs=logs,
        )
    warnings = ClockEvent.objects.filter(kind="sla_warning")
    assert warnings.exists()  # some were warned in their 400 ms...
    assert not warnings.filter(recorded_at__gte=F("clock__due_at")).exists()  # ...none late
    assert ClockEvent.objects.filter(kind="sla_breached").count() == 300
