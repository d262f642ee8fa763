"""Does the SLA scan cost what is due, not what is open? And how late is a breach noticed?

(a) One scan (`sla.scan.scan(now=...)`) with 1,000 due clocks among 10,000 open
    (running, not yet due) clocks, and again among 1,000,000 open clocks, in the
    same run: the median of several scans each, the 1,000 due clocks re-armed
    between scans with one UPDATE (and what the scan wrote, its events and
    notifications, deleted, so every scan does the same work). The figure is the
    ratio of the two (aim: under 1.5). Rows are loaded with INSERT ... SELECT
    generate_series, not the ORM.
(b) Under the running beat (a real worker and `celery beat` on Redis, as in
    production, SLA_SCAN_SECONDS 15 and then 5), a handful of clocks falling due
    a few seconds apart across one period: the delay between each deadline and
    the scan that recorded its breach (ClockEvent.recorded_at - Clock.due_at),
    p50 and max.

It runs in its own PostgreSQL database (alignment_bench_scan, created, migrated
and dropped again), in a child process whose settings point there, and starts a
Redis server of its own (redis-server on PATH; or BENCH_REDIS_URL):

    python -m bench.bench_scan
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench import own_database

BENCH_DB = "alignment_bench_scan"
ROOT = Path(__file__).resolve().parents[1]
CHILD_FLAG = "BENCH_SCAN_CHILD"
RESULT_PREFIX = own_database.RESULT_PREFIX

DUE = 1_000
SMALL_OPEN = 10_000
LARGE_OPEN = int(os.environ.get("BENCH_SCAN_LARGE_OPEN", "1000000"))  # smaller for a smoke run
RUNS = int(os.environ.get("BENCH_SCAN_RUNS", "3"))
BEAT_PERIODS = (15, 5)
BEAT_CLOCKS = 8


# -- the parent: its own database, a child process, clean up -----------------------


def main() -> dict[str, float]:
    if os.environ.get(CHILD_FLAG):
        return _child()
    return own_database.run(
        module="bench.bench_scan",
        database=BENCH_DB,
        child_flag=CHILD_FLAG,
        env={"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"},
    )


# -- the child: runs against alignment_bench_scan ------------------------------------


def _child() -> dict[str, float]:
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - started:.1f} s")
    world = _world()
    result = _scan_cost(world)
    result.update(_beat_delays(world))
    print(RESULT_PREFIX + json.dumps(result))
    return result


def _world() -> dict:
    """The few rows every clock points at: people, a team, an agreement in force, a goal."""
    from alignment import clock
    from alignment.demo import seed_organisation
    from sla.models import Agreement, AgreementStatus, SalesGoal

    people = {p.username: p for p in seed_organisation()}
    now = clock.now()
    agreement = Agreement.objects.create(
        number=1,
        status=AgreementStatus.DRAFT,
        created_by=people["maya"],
        created_at=now,
        updated_at=now,
        escalation_hours=4,
        min_acceptance_rate=70,
    )
    goal = SalesGoal.objects.create(
        agreement=agreement,
        position=0,
        label="Everyone",
        accept_hours=1,
        first_touch_hours=2,
        min_attempts=3,
        attempt_days=2,
        warn_percent=75,
    )
    # In force once complete: the database freezes an agreed agreement's goals.
    Agreement.objects.filter(pk=agreement.pk).update(status=AgreementStatus.AGREED, agreed_at=now)
    reps = [people[name] for name in ("ravi", "carmen", "tom")]
    return {
        "agreement": agreement.pk,
        "goal": goal.pk,
        "team": reps[0].team_id,
        "owners": [rep.pk for rep in reps],
    }


def _insert(world: dict, *, tag: str, first: int, count: int, due_sql: str, warned: bool) -> None:
    """`count` leads tagged `tag` and one running accept clock each, due at `due_sql`
    (an SQL expression of `g`, the row number, and `%(now)s`)."""
    from django.db import connection

    from alignment import clock

    params = {**world, "tag": tag, "first": first, "last": first + count - 1, "now": clock.now()}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO leads_lead (
                source, external_id, email, first_name, last_name, company, title, country,
                phone, attributes, score, score_explanation, stage, rejection_note, is_history,
                touch_count, version, created_at, updated_at, handed_off_at, owner_id, team_id,
                action_due_at, action_warn_at
            )
            SELECT %(tag)s, 'L' || g, '', 'Bench', g::text, 'Acme', 'Director',
                   'United States', '', '{{}}'::jsonb, 90, '{{}}'::jsonb, 'mql', '', false,
                   0, 1, %(now)s, %(now)s, %(now)s, (%(owners)s::bigint[])[1 + g %% 3],
                   %(team)s, {due_sql}, {due_sql} - interval '15 minutes'
            FROM generate_series(%(first)s, %(last)s) AS g
            """,
            params,
        )
        cursor.execute(
            f"""
            INSERT INTO sla_clock (
                kind, state, hours, started_at, warn_at, due_at, warned_at, extended,
                agreement_id, goal_id, lead_id, owner_id, team_id
            )
            SELECT 'accept', 'running', 1, l.action_due_at - interval '1 hour',
                   l.action_warn_at, l.action_due_at, {"l.action_warn_at" if warned else "NULL"},
                   false, %(agreement)s, %(goal)s, l.id, l.owner_id, l.team_id
            FROM leads_lead l
            WHERE l.source = %(tag)s AND l.external_id <> ''
            """,
            params,
        )


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("ANALYZE sla_clock")


def _scan_cost(world: dict) -> dict[str, float]:
    from django.db import connection

    from alignment import clock
    from sla.models import Clock
    from sla.scan import scan

    # Due a minute to a quarter of an hour ago, already warned: each scan breaches 1,000.
    _insert(
        world,
        tag="due",
        first=1,
        count=DUE,
        due_sql="%(now)s - interval '1 minute' - (g || ' seconds')::interval",
        warned=True,
    )
    due_ids = list(Clock.objects.filter(lead__source="due").values_list("pk", flat=True))
    # Open and not due for days (spread over a week), warnings not due yet either.
    future = "%(now)s + interval '2 days' + ((g %% 10080) || ' minutes')::interval"

    opened = [0]

    def add_open(first: int, count: int) -> None:
        opened[0] += count
        started = time.perf_counter()
        for start in range(first, first + count, 250_000):
            size = min(250_000, first + count - start)
            _insert(
                world, tag=f"open-{start}", first=start, count=size, due_sql=future, warned=False
            )
        _analyze()
        print(f"  loaded {count:,} open clocks in {time.perf_counter() - started:.1f} s")

    def rearm() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE sla_clock SET state = 'running', breached_at = NULL, "
                "escalation_due_at = NULL WHERE id = ANY(%s)",
                [due_ids],
            )
            cursor.execute("DELETE FROM sla_clockevent WHERE clock_id = ANY(%s)", [due_ids])
            cursor.execute("DELETE FROM alignment_notification")

    def measure() -> float:
        times = []
        for _ in range(RUNS):
            rearm()
            now = clock.now()
            started = time.perf_counter()
            result = scan(now=now)
            times.append(time.perf_counter() - started)
            assert (result.warned, result.breached, result.escalated) == (0, DUE, 0), result
        median = statistics.median(times)
        shown = ", ".join(f"{t:.2f}" for t in times)
        print(f"  scan, {DUE:,} due among {opened[0]:,} open: {median:.2f} s ({shown})")
        return median

    print(f"(a) one scan with {DUE:,} due clocks; median of {RUNS}")
    add_open(DUE + 1, SMALL_OPEN)
    small = measure()
    add_open(DUE + SMALL_OPEN + 1, LARGE_OPEN - SMALL_OPEN)
    large = measure()
    ratio = large / small
    print(f"  ratio ({LARGE_OPEN:,} open / {SMALL_OPEN:,} open): {ratio:.2f}x (aim: under 1.5)")
    # Leave the due clocks breached and nothing waiting to be emailed for part (b).
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM alignment_notification")
    return {"scan_10k_open_s": small, "scan_1m_open_s": large, "scan_ratio": ratio}


# -- (b) under the running beat ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str], log: Path):
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


@contextlib.contextmanager
def _redis(folder: Path):
    if os.environ.get("BENCH_REDIS_URL"):
        yield os.environ["BENCH_REDIS_URL"]
        return
    port = _free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(folder)]
    with _process(args, dict(os.environ), folder / "redis.log"):

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    return conn.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        _wait(answers, 10, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"


def _beat_delays(world: dict) -> dict[str, float]:
    from django.db import close_old_connections

    from sla.models import Clock, ClockEvent

    print(f"(b) deadline -> breach recorded under the running beat ({BEAT_CLOCKS} clocks each)")
    result: dict[str, float] = {}
    first = DUE + LARGE_OPEN + 1
    with tempfile.TemporaryDirectory() as folder, _redis(Path(folder)) as broker:
        for period in BEAT_PERIODS:
            queue = f"bench-scan-{uuid.uuid4().hex[:8]}"
            env = {
                k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", CHILD_FLAG)
            }
            env.update(
                {
                    "CELERY_BROKER_URL": broker,
                    "CELERY_TASK_DEFAULT_QUEUE": queue,
                    "SLA_SCAN_SECONDS": str(period),
                    "ALIGNMENT_VAR_DIR": folder,
                }
            )
            worker_log = Path(folder) / f"worker-{period}.log"
            worker = [sys.executable, "-m", "celery", "-A", "alignment", "worker", "-Q", queue]
            worker += ["-c", "2", "-n", f"{queue}@%h", "--without-gossip", "--without-mingle"]
            worker += ["-l", "INFO"]
            beat = [sys.executable, "-m", "celery", "-A", "alignment", "beat", "-l", "INFO"]
            beat += ["-s", str(Path(folder) / f"beat-{period}")]
            tag = f"beat{period}"
            with (
                _process(worker, env, worker_log),
                _process(beat, env, Path(folder) / f"beat-{period}.log"),
            ):
                # Wait for the first scan to run, so that start-up is not counted.
                _wait(
                    lambda log=worker_log: any(
                        "sla.tasks.scan" in line and "succeeded" in line
                        for line in log.read_text().splitlines()
                    ),
                    period + 60,
                    f"the first scan under a {period} s beat",
                )
                spread = f"%(now)s + interval '2 seconds' + (g - {first}) * interval '{period}"
                spread += f" seconds' / {BEAT_CLOCKS}"
                _insert(world, tag=tag, first=first, count=BEAT_CLOCKS, due_sql=spread, warned=True)
                clocks = Clock.objects.filter(lead__source=tag)
                _wait(
                    lambda clocks=clocks: clocks.filter(state="breached").count() == BEAT_CLOCKS,
                    2 * period + 60,
                    f"{BEAT_CLOCKS} breaches under a {period} s beat",
                )
            first += BEAT_CLOCKS
            delays = sorted(
                (event.recorded_at - event.clock.due_at).total_seconds()
                for event in ClockEvent.objects.filter(
                    kind="sla_breached", clock__lead__source=tag
                ).select_related("clock")
            )
            close_old_connections()
            p50, worst = statistics.median(delays), max(delays)
            shown = ", ".join(f"{d:.1f}" for d in delays)
            print(f"  beat every {period:>2} s: p50 {p50:.1f} s, max {worst:.1f} s ({shown})")
            result[f"breach_delay_{period}s_p50_s"] = p50
            result[f"breach_delay_{period}s_max_s"] = worst
    return result


if __name__ == "__main__":
    main()
