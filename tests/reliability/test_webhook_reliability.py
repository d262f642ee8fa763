"""Webhooks under faults, with real workers and beat on Redis and a receiver on 127.0.0.1.

A receiver down for a while gets every event once it is back, each lead's in order,
and can drop the duplicates a lost answer causes by their id; a worker killed while
sending loses nothing: the delivery it held is sent again once its claim is stale.
"""

import datetime as dt
from collections import defaultdict

import pytest
from django.db.models import F

from alignment import webhooks
from alignment.models import OutboxEvent, WebhookDelivery
from tests.processes import running
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
from tests.reliability.webhook_receiver import WebhookReceiver
from tests.sla.engine import MONDAY_10_NY, agreement, hand_off_many  # noqa: F401 - a fixture

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    needs_redis_server,
    pytest.mark.usefixtures("agreement", "territories"),
    pytest.mark.django_db(transaction=True),
]
TYPES = ["lead.ingested", "lead.handed_off", "clock.started"]


def subscribe(org, receiver: WebhookReceiver):
    return webhooks.endpoint_create(
        by=org["admin"], name="Warehouse", url=receiver.url, event_types=TYPES
    )


def states() -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for state in WebhookDelivery.objects.values_list("state", flat=True):
        counts[state] += 1
    return dict(counts)


def assert_each_event_received_once_in_order_per_lead(receiver: WebhookReceiver) -> None:
    expected = {e.message_id: e.lead_id for e in OutboxEvent.objects.all()}
    kept = receiver.unique_ids()  # what a receiver keeps, dropping ids it has seen
    assert sorted(kept) == sorted(expected)
    per_lead = defaultdict(list)
    for msg_id in kept:
        per_lead[expected[msg_id]].append(int(msg_id.removeprefix("msg_")))
    assert all(ids == sorted(ids) for ids in per_lead.values()), per_lead
    assert states() == {"delivered": len(expected)}


def test_a_receiver_down_for_a_while_gets_every_event_once_it_is_back_in_order(org, tmp_path):
    # The 2nd and 5th requests after it is back arrive, but their answers are lost.
    receiver = WebhookReceiver(lose_answer_on={2, 5}).__enter__()
    receiver.down()
    try:
        subscribe(org, receiver)
        hand_off_many(org, "Down", 6, at=MONDAY_10_NY)
        total = OutboxEvent.objects.count()
        assert total >= 6 * 3  # ingested, handed off, and a clock started, each
        port = free_port()
        broker = f"redis://127.0.0.1:{port}/0"
        env = worker_env(tmp_path, broker=broker, WEBHOOK_SECONDS="1")
        logs = [tmp_path / "worker.log", tmp_path / "beat.log"]
        with (
            own_redis(tmp_path, port),
            running(worker_args("celery"), env, logs[0]) as worker,
            running(beat_args(tmp_path / "beat"), env, logs[1]) as beat,
        ):
            procs = [worker, beat]
            # Down: the first event of each lead is tried and refused; the rest wait behind it.
            wait_running(
                procs,
                lambda: WebhookDelivery.objects.filter(attempts__gte=1).count() == 6,
                timeout=60,
                what="a first attempt per lead",
                logs=logs,
            )
            assert states() == {"pending": total}
            firsts = WebhookDelivery.objects.filter(attempts__gte=1).select_related("event")
            assert {d.event.event_type for d in firsts} == {"lead.ingested"}
            assert all(d.next_attempt_at > d.attempt_log.get().at for d in firsts)
            assert "ConnectionError" in firsts[0].last_error
            # Back; the waits between attempts are minutes: the clock is moved, not waited.
            receiver.up()

            def all_delivered_as_time_passes() -> bool:
                WebhookDelivery.objects.filter(state="pending").update(
                    next_attempt_at=F("next_attempt_at") - dt.timedelta(hours=1)
                )
                return states() == {"delivered": total}

            wait_running(
                procs,
                all_delivered_as_time_passes,
                timeout=90,
                what="every event delivered",
                logs=logs,
            )
    finally:
        receiver.__exit__(None, None, None)
    assert len(receiver.accepted) == total + 2  # two duplicates on the wire...
    assert_each_event_received_once_in_order_per_lead(receiver)  # ...dropped by their id


def test_a_worker_killed_while_delivering_loses_nothing(org, tmp_path):
    with WebhookReceiver(stall_on=3) as receiver:
        subscribe(org, receiver)
        hand_off_many(org, "Kill", 5, at=MONDAY_10_NY)
        total = OutboxEvent.objects.count()
        port = free_port()
        broker = f"redis://127.0.0.1:{port}/0"
        env = worker_env(tmp_path, broker=broker)
        with own_redis(tmp_path, port):
            first_log = tmp_path / "worker1.log"
            with running(worker_args("celery"), env, first_log) as worker:
                send_task(broker, "alignment.tasks.deliver_webhooks", queue="celery")
                wait_running(
                    [worker], receiver.stalled.is_set, timeout=60, what="the 3rd", logs=[first_log]
                )
                kill_group(worker)  # while the receiver holds the 3rd request
            receiver.release()
            answered_before = len(receiver.accepted)
            # The chunk (the first event of each lead) was in flight: its outcomes were
            # to be recorded together, so all five are still claimed by the dead worker;
            # the later events of those leads wait behind them.
            assert states() == {"sending": 5, "pending": total - 5}
            WebhookDelivery.objects.filter(state="sending").update(
                claimed_at=F("claimed_at") - webhooks.CLAIM_TIMEOUT
            )
            second_log = tmp_path / "worker2.log"
            with running(worker_args("celery"), env, second_log) as worker:
                send_task(broker, "alignment.tasks.deliver_webhooks", queue="celery")
                wait_running(
                    [worker],
                    lambda: states() == {"delivered": total},
                    timeout=60,
                    what="every event delivered",
                    logs=[second_log],
                )
    # Those answered before the kill arrive twice (the receiver drops them by id); the
    # one held at the kill was never answered: it arrived once, afterwards.
    assert len(receiver.accepted) == total + answered_before
    assert_each_event_received_once_in_order_per_lead(receiver)
