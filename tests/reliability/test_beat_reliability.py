"""Two beats, as docker-compose runs them: one schedules, and the other takes over when
the leader dies, within BEAT_LOCK_SECONDS and a fifth of it; no clock is acted on twice."""

import time

import pytest
from django.db.models import F

from alignment.models import Notification
from sla.models import ArbiterCase, Clock
from tests.processes import running
from tests.reliability.stack import (
    beat_args,
    duplicate_notifications,
    event_counts,
    free_port,
    kill_group,
    needs_redis_server,
    own_redis,
    wait_running,
    worker_args,
    worker_env,
)
from tests.sla.engine import MONDAY_10_NY, agreement, hand_off_many  # noqa: F401 - a fixture

LOCK_SECONDS = 3  # 15 in production; short here so that the test is quick


def leader(logs) -> int | None:
    """Which beat holds the lock (by its log), if exactly one does."""
    holding = [n for n, log in enumerate(logs) if "Acquired lock" in log.read_text()]
    return holding[0] if len(holding) == 1 else None


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@needs_redis_server
@pytest.mark.usefixtures("agreement", "territories")
@pytest.mark.django_db(transaction=True)
def test_two_beats_one_schedules_and_the_other_takes_over_when_it_is_killed(org, tmp_path):
    before = hand_off_many(org, "Before", 20, at=MONDAY_10_NY)  # due (and escalated) long ago
    after = hand_off_many(org, "After", 20)  # made due once the leader is dead
    port = free_port()
    env = worker_env(
        tmp_path,
        broker=f"redis://127.0.0.1:{port}/0",
        SLA_SCAN_SECONDS="1",
        BEAT_LOCK_SECONDS=str(LOCK_SECONDS),
    )
    logs = [tmp_path / "beat1.log", tmp_path / "beat2.log"]
    worker_log = tmp_path / "worker.log"
    with (
        own_redis(tmp_path, port),
        running(worker_args(concurrency=2), env, worker_log) as worker,
        running(beat_args(tmp_path / "beat1"), env, logs[0]) as beat1,
        running(beat_args(tmp_path / "beat2"), env, logs[1]) as beat2,
    ):
        beats = [beat1, beat2]
        every = [worker, *beats]
        wait_running(
            every,
            lambda: Clock.objects.filter(lead__in=before, escalated_at__isnull=False).count() == 20,
            timeout=60,
            what="the first 20 clocks breached and escalated",
            logs=[worker_log, *logs],
        )
        first = leader(logs)
        assert first is not None, "exactly one beat should hold the lock"
        standby = 1 - first
        assert "sla-scan" in logs[first].read_text()
        assert "sla-scan" not in logs[standby].read_text()  # the standby sends nothing

        kill_group(beats[first])  # the leader's host is gone
        killed_at = time.monotonic()
        Clock.objects.filter(lead__in=after).update(due_at=F("started_at"))
        wait_running(
            [worker, beats[standby]],
            lambda: "Acquired lock" in logs[standby].read_text(),
            timeout=4 * LOCK_SECONDS + 10,
            what="the standby beat to take over",
            logs=logs,
        )
        took_over = time.monotonic() - killed_at
        wait_running(
            [worker, beats[standby]],
            lambda: Clock.objects.filter(lead__in=after, state="breached").count() == 20,
            timeout=30,
            what="the scan to go on under the new leader",
            logs=[worker_log, *logs],
        )
    # The lock expires at most LOCK_SECONDS after the leader's last renewal, and the
    # standby asks for it every fifth of that (with a little for a loaded machine).
    assert took_over <= LOCK_SECONDS + LOCK_SECONDS / 5 + 2, took_over
    assert "sla-scan" in logs[standby].read_text()
    assert event_counts("sla_breached") == [1] * 40
    assert event_counts("escalated") == [1] * 20
    assert ArbiterCase.objects.count() == 20
    assert duplicate_notifications() == []
    assert Notification.objects.filter(kind="sla_breached").count() == 80
