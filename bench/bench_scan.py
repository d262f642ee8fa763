"""The SLA scan: as fast as one bare UPDATE, shared by parallel scanners, and on time.

Clocks of every kind are in the mix: a third each accept, first-touch and follow-up
clocks (the follow-ups on accepted leads that were touched once), and one open clock
in twenty is held by an agreed pause whose maximum is days away.

(a) One scan (`sla.scan.scan(now=...)`) of 10,000 due clocks among 1,000,000
    open (running, not yet due, or paused) clocks, against one bare set-based `UPDATE` of
    the same 10,000 clocks (the columns a breach sets, in one statement), in the
    same run: the median of several of each, the clocks re-armed between runs
    (and what the scan wrote deleted, so each run does the same work). Figure:
    scan / bare UPDATE (aim: at most 5). A second reference: every row the same
    breaches write (clocks, events, leads, two notifications each), as bare
    set-based SQL with no Python, which says how much of the scan is what a
    breach must write and how much the scan's own work. The same scan among 10,000 open clocks
    shows it costs what is due, not what is open (aim: under 1.5). Then one scan of
    10,000 agreed pauses at their maximum among the same 1,000,000 open (their clocks
    resumed, the pauses ended), against the same bare `UPDATE`.
(b) Scanners in parallel: 20,000 due clocks breached by 1, 2 and 4 scan
    processes started at the same instant (each `sla.scan.scan()`, sharing the
    work through SKIP LOCKED): wall time from the start to the last one done,
    and a check that every clock was breached exactly once.
(c) Deadline -> breach visible: bursts of 1,000 clocks due within the same
    second, each at a random point of the beat's period, under the production
    processes (Redis, a scan worker, an email worker, `celery beat` every 15 s);
    another connection polls every 50 ms and notes when each breach becomes
    visible to it. p50, p99 and max over all bursts (aim: p99 at most the beat
    period + 3 s).

Rows are loaded with INSERT ... SELECT generate_series, not the ORM. It runs in
a PostgreSQL database of its own (alignment_bench_scan_<random>, created,
migrated and dropped again), in a child process whose settings point there, and
starts a Redis server of its own (redis-server on PATH; or BENCH_REDIS_URL):

    python -m bench.bench_scan
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import own_database

CHILD_FLAG = "BENCH_SCAN_CHILD"
SCANNER_FLAG = "BENCH_SCANNER"
RESULT_PREFIX = own_database.RESULT_PREFIX

DUE = 10_000
SMALL_OPEN = 10_000
LARGE_OPEN = int(os.environ.get("BENCH_SCAN_LARGE_OPEN", "1000000"))  # smaller for a smoke run
RUNS = int(os.environ.get("BENCH_SCAN_RUNS", "3"))
PARALLEL_DUE = 20_000
SCANNERS = (1, 2, 4)
BEAT_SECONDS = 15
BURST = 1_000
# BENCH_SCAN_ONLY=cost: part (a) alone, for figures in minutes (with a smaller
# BENCH_SCAN_LARGE_OPEN). BENCH_SCAN_PROFILE=1: where the last scan of (a) spent its
# time, statement by statement, against the Python between them (=tottime: and the
# 40 functions that took most time of their own).
ONLY = os.environ.get("BENCH_SCAN_ONLY", "")
PROFILE = bool(os.environ.get("BENCH_SCAN_PROFILE"))
BURSTS = int(os.environ.get("BENCH_SCAN_BURSTS", "3"))


# -- the parent: its own database, a child process, clean up -----------------------


def main() -> dict[str, float]:
    if os.environ.get(SCANNER_FLAG):
        return _scanner()
    if os.environ.get(CHILD_FLAG):
        return _child()
    return own_database.run(
        module="bench.bench_scan",
        database="alignment_bench_scan",
        child_flag=CHILD_FLAG,
        env={"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"},
    )


# -- the child: runs against its own database ---------------------------------------


def _child() -> dict[str, float]:
    own_database.setup_django()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - started:.1f} s")
    world = _world()
    result = _scan_cost(world)
    if ONLY != "cost":
        result.update(_parallel(world))
        result.update(_breach_visible(world))
    print(RESULT_PREFIX + json.dumps(result))
    return result


def _world() -> dict:
    """The few rows every clock points at: people, a team, an agreement in force, a goal,
    a condition that pauses clocks."""
    from alignment import clock
    from alignment.demo import seed_organisation
    from sla.models import Agreement, AgreementStatus, PauseCondition, SalesGoal

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
        followup_days=1,
        warn_percent=75,
    )
    condition = PauseCondition.objects.create(
        agreement=agreement, position=0, label="Waiting on the prospect", max_days=5
    )
    # In force once complete: the database freezes an agreed agreement's goals.
    Agreement.objects.filter(pk=agreement.pk).update(status=AgreementStatus.AGREED, agreed_at=now)
    reps = [people[name] for name in ("ravi", "carmen", "tom")]
    return {
        "agreement": agreement.pk,
        "goal": goal.pk,
        "condition": condition.pk,
        "team": reps[0].team_id,
        "manager": reps[0].team.manager_id,
        "owners": [rep.pk for rep in reps],
        "next": 1,
    }


KINDS = "ARRAY['accept', 'first_touch', 'follow_up']"


def _insert(
    world: dict, *, tag: str, count: int, due_sql: str, warned: bool, paused_share: int = 0
) -> list[int]:
    """`count` leads tagged `tag` and one running clock each, due at `due_sql` (an SQL
    expression of `g`, the row number from 0, and `%(now)s`), a third of each kind (an
    accept clock on an MQL, a first-touch or follow-up clock on a SAL touched once). With
    `paused_share` n, one clock in n is paused by an agreed pause instead, until its
    due time. Their clock ids."""
    from django.db import connection

    from alignment import clock

    first = world["next"]
    world["next"] += count
    params = {**world, "tag": tag, "first": first, "last": first + count - 1, "now": clock.now()}
    params["share"] = paused_share or count + 1
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO leads_lead (
                source, external_id, email, first_name, last_name, company, title, country,
                phone, attributes, score, score_explanation, stage, rejection_note, is_history,
                touch_count, version, created_at, updated_at, handed_off_at, owner_id, team_id,
                action_due_at, action_warn_at, attempts_agreed, pause_reason
            )
            SELECT %(tag)s, 'L' || n, 'bench' || n || '@example.com', 'Bench', n::text, 'Acme',
                   'Director', 'United States', '', '{{}}'::jsonb, 90, '{{}}'::jsonb,
                   CASE WHEN g %% 3 = 0 THEN 'mql' ELSE 'sal' END, '', false,
                   CASE WHEN g %% 3 = 2 THEN 1 ELSE 0 END, 1, %(now)s, %(now)s, %(now)s,
                   (%(owners)s::bigint[])[1 + n %% 3], %(team)s, {due_sql},
                   {due_sql} - interval '15 minutes', 3, ''
            FROM generate_series(%(first)s, %(last)s) AS n, LATERAL (SELECT n - %(first)s AS g) x
            """,
            params,
        )
        cursor.execute(
            f"""
            INSERT INTO sla_clock (
                kind, state, hours, started_at, warn_at, due_at, warned_at, extended,
                agreement_id, goal_id, lead_id, owner_id, team_id
            )
            SELECT ({KINDS})[1 + (l.id - %(first)s) %% 3], 'running', 1,
                   l.action_due_at - interval '1 hour', l.action_warn_at, l.action_due_at,
                   {"l.action_warn_at" if warned else "NULL"},
                   false, %(agreement)s, %(goal)s, l.id, l.owner_id, l.team_id
            FROM leads_lead l
            WHERE l.source = %(tag)s
            RETURNING id
            """,
            params,
        )
        ids = [row[0] for row in cursor.fetchall()]
        if paused_share:
            _pause(cursor, params)
        return ids


def _pause(cursor, params: dict) -> None:
    """One clock in `share` of the leads tagged `tag`: held by an agreed pause until its
    due time, with five business days left (so it is not due again once resumed)."""
    cursor.execute(
        """
        INSERT INTO sla_pause (
            lead_id, condition_id, reason, note, owner_id, team_id, set_by_id, started_at,
            ends_at, end_reason
        )
        SELECT l.id, %(condition)s, 'Waiting on the prospect', 'Bench', l.owner_id, l.team_id,
               l.owner_id, %(now)s - interval '1 week', l.action_due_at, ''
        FROM leads_lead l
        WHERE l.source = %(tag)s AND l.id %% %(share)s = 0
        """,
        params,
    )
    cursor.execute(
        """
        UPDATE sla_clock c SET state = 'paused', paused_at = p.started_at,
            remaining = interval '40 hours', paused_by_id = p.id, resume_at = p.ends_at
        FROM sla_pause p JOIN leads_lead l ON l.id = p.lead_id
        WHERE c.lead_id = p.lead_id AND l.source = %(tag)s
        """,
        params,
    )
    cursor.execute(
        "UPDATE leads_lead l SET paused_until = p.ends_at, pause_reason = p.reason "
        "FROM sla_pause p WHERE p.lead_id = l.id AND l.source = %(tag)s",
        params,
    )


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("leads_lead", "sla_clock", "sla_pause"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def _rearm(clock_ids: list[int]) -> None:
    """Running and due again, as before the scan: their leads show the deadline again and
    are not stale; what the scan wrote about them deleted, with the keys that would make
    a second run's notifications duplicates (TRUNCATE empties those too), so that every
    run does the same work as the first."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sla_clock SET state = 'running', breached_at = NULL, "
            "escalation_due_at = NULL WHERE id = ANY(%s)",
            [clock_ids],
        )
        cursor.execute(
            "UPDATE leads_lead l SET action_due_at = c.due_at, action_warn_at = c.warn_at, "
            "stale_since = NULL FROM sla_clock c WHERE c.lead_id = l.id AND c.id = ANY(%s)",
            [clock_ids],
        )
        cursor.execute("DELETE FROM sla_clockevent WHERE clock_id = ANY(%s)", [clock_ids])
        cursor.execute("TRUNCATE alignment_notification")
        _vacuum(cursor)


def _vacuum(cursor) -> None:
    # Scan and bare UPDATE each start from tables without the dead rows of the last run.
    for table in (
        "sla_clock",
        "leads_lead",
        "sla_clockevent",
        "alignment_notification",
        "sla_pause",
    ):
        cursor.execute(f"VACUUM ANALYZE {table}")


def _repause(clock_ids: list[int]) -> None:
    """Held by their pauses again, at their maximum; what the scan wrote deleted."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sla_pause p SET ended_at = NULL, end_reason = '', held_seconds = NULL "
            "FROM sla_clock c WHERE c.lead_id = p.lead_id AND c.id = ANY(%s)",
            [clock_ids],
        )
        cursor.execute(
            "UPDATE sla_clock c SET state = 'paused', paused_at = p.started_at, "
            "remaining = interval '40 hours', paused_by_id = p.id, resume_at = p.ends_at "
            "FROM sla_pause p WHERE c.lead_id = p.lead_id AND c.id = ANY(%s)",
            [clock_ids],
        )
        cursor.execute("DELETE FROM sla_clockevent WHERE clock_id = ANY(%s)", [clock_ids])
        cursor.execute("TRUNCATE alignment_notification")
        _vacuum(cursor)


def _median(label: str, times: list[float]) -> float:
    median = statistics.median(times)
    print(f"  {label}: {median * 1000:,.0f} ms ({', '.join(f'{t * 1000:,.0f}' for t in times)})")
    return median


class _Profile:
    """Time per statement shape (its first words), as Django sends them."""

    def __init__(self) -> None:
        import cProfile

        self.spent: dict[str, list[float]] = {}
        self.python = cProfile.Profile()

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            shape = " ".join(sql.split())[:90]
            self.spent.setdefault(shape, []).append(time.perf_counter() - started)

    def report(self, total: float) -> None:
        in_sql = sum(sum(t) for t in self.spent.values())
        print(f"  profile of the last scan: {total * 1000:,.0f} ms, {in_sql * 1000:,.0f} ms in SQL")
        for shape, times in sorted(self.spent.items(), key=lambda kv: -sum(kv[1]))[:12]:
            print(f"    {sum(times) * 1000:8,.0f} ms {len(times):5}x  {shape}")
        import io
        import pstats

        out = io.StringIO()
        pstats.Stats(self.python, stream=out).sort_stats("cumulative").print_stats(
            r"(sla|alignment|leads)/", 25
        )
        print(out.getvalue())
        if os.environ.get("BENCH_SCAN_PROFILE") == "tottime":
            out = io.StringIO()
            pstats.Stats(self.python, stream=out).sort_stats("tottime").print_stats(40)
            print(out.getvalue())


# What a breach writes, as bare SQL (part (a)'s second reference): %(due)s the clock ids.
BARE_BREACH = (
    "UPDATE sla_clock SET state = 'breached', breached_at = due_at, "
    "escalation_due_at = due_at + interval '4 hours' WHERE id = ANY(%(due)s)",
    "INSERT INTO sla_clockevent (clock_id, lead_id, kind, occurred_at, recorded_at, data) "
    "SELECT id, lead_id, 'sla_breached', due_at, now(), '{}'::jsonb FROM sla_clock "
    "WHERE id = ANY(%(due)s)",
    # A lead keeps the deadline it missed (sla.clocks.sync_leads): staleness alone.
    "UPDATE leads_lead l SET stale_since = c.due_at "
    "FROM sla_clock c WHERE c.lead_id = l.id AND c.id = ANY(%(due)s)",
    "INSERT INTO alignment_notificationkey (recipient_id, key) "
    "SELECT r, 'clock:' || c.id || ':breached' FROM sla_clock c, "
    "LATERAL (VALUES (c.owner_id), (%(manager)s)) AS who(r) WHERE c.id = ANY(%(due)s)",
    "SELECT set_config('alignment.notification_keys_claimed', 'on', true)",
    "INSERT INTO alignment_notification (recipient_id, key, kind, title, body, url, "
    "created_at, email_state, email_attempts, email_error) "
    "SELECT r, 'clock:' || c.id || ':breached', 'sla_breached', 'Breached: accept for ' || "
    "l.first_name || ' ' || l.last_name, 'Due ' || c.due_at || '; it goes to the arbiter at ' "
    "|| c.escalation_due_at, '/leads/' || l.id || '/', now(), 'pending', 0, '' "
    "FROM sla_clock c JOIN leads_lead l ON l.id = c.lead_id, "
    "LATERAL (VALUES (c.owner_id), (%(manager)s)) AS who(r) WHERE c.id = ANY(%(due)s)",
)


def _scan_cost(world: dict) -> dict[str, float]:
    from django.db import connection, transaction

    from alignment import clock
    from sla.scan import scan

    # Due a minute to three hours ago, already warned: each scan breaches all of them.
    due = _insert(
        world,
        tag="due",
        count=DUE,
        due_sql="%(now)s - interval '1 minute' - (g || ' seconds')::interval",
        warned=True,
    )
    future = "%(now)s + interval '2 days' + ((g %% 10080) || ' minutes')::interval"
    opened = [0]

    def add_open(count: int) -> None:
        started = time.perf_counter()
        for start in range(0, count, 250_000):
            size = min(250_000, count - start)
            _insert(
                world,
                tag=f"open-{opened[0]}",
                count=size,
                due_sql=future,
                warned=False,
                paused_share=20,
            )
            opened[0] += size
        _analyze()
        print(f"  loaded {count:,} open clocks in {time.perf_counter() - started:.1f} s")

    def scans() -> float:
        times = []
        for run in range(RUNS):
            _rearm(due)
            now = clock.now()
            profile = _Profile() if PROFILE and run == RUNS - 1 else None
            started = time.perf_counter()
            if profile:
                with connection.execute_wrapper(profile), profile.python:
                    result = scan(now=now)
            else:
                result = scan(now=now)
            times.append(time.perf_counter() - started)
            if profile:
                profile.report(times[-1])
            assert (result.warned, result.breached, result.escalated) == (0, DUE, 0), result
        return _median(f"scan, {DUE:,} due among {opened[0]:,} open", times)

    def bare_updates() -> float:
        times = []
        for _ in range(RUNS):
            _rearm(due)
            started = time.perf_counter()
            with connection.cursor() as cursor:  # autocommit: the commit is counted too
                cursor.execute(
                    "UPDATE sla_clock SET state = 'breached', breached_at = due_at, "
                    "escalation_due_at = due_at + interval '4 hours' WHERE id = ANY(%s)",
                    [due],
                )
            times.append(time.perf_counter() - started)
        return _median(f"one bare UPDATE of the same {DUE:,} clocks", times)

    def bare_breaches() -> float:
        """Every row a breach writes, in the fewest set-based statements and no Python:
        the clocks, their events, their leads' staleness (each keeps the deadline it missed), and
        two notifications each (rep and manager), their keys claimed first."""
        times, parts = [], []
        for _ in range(RUNS):
            _rearm(due)
            started = time.perf_counter()
            spent = []
            with transaction.atomic(), connection.cursor() as cursor:
                for sql in BARE_BREACH:
                    began = time.perf_counter()
                    cursor.execute(sql, {"due": due, "manager": world["manager"]})
                    spent.append(time.perf_counter() - began)
            times.append(time.perf_counter() - started)
            parts.append(spent + [times[-1] - sum(spent)])
        median = _median(f"bare set-based writes of the same {DUE:,} breaches", times)
        names = ("clocks", "events", "leads", "keys", "switch", "notifications", "commit")
        shares = [statistics.median(p[n] for p in parts) * 1000 for n in range(len(names))]
        each = (f"{n} {ms:,.0f} ms" for n, ms in zip(names, shares, strict=True))
        print("    of which " + ", ".join(each))
        return median

    print(f"(a) one scan of {DUE:,} due clocks; median of {RUNS}")
    add_open(SMALL_OPEN)
    small = scans()
    add_open(LARGE_OPEN - SMALL_OPEN)
    large = scans()
    bare = bare_updates()
    floor = bare_breaches()
    # Leave them breached: nothing of (a) is due in (b) and (c).
    _rearm(due)
    scan(now=clock.now())
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE alignment_notification")
    ratio, growth = large / bare, large / small
    print(f"  scan / bare UPDATE: {ratio:.2f}x (aim: at most 5)")
    print(
        f"  bare writes of the breaches / bare UPDATE: {floor / bare:.2f}x; "
        f"scan / bare writes of the breaches: {large / floor:.2f}x"
    )
    print(
        f"  scan among {LARGE_OPEN:,} / among {SMALL_OPEN:,} open: {growth:.2f}x (aim: under 1.5)"
    )
    resumed = _resume_cost(world, opened[0])
    return {
        "scan_10k_due_1m_open_s": large,
        "bare_update_10k_s": bare,
        "scan_vs_bare_update_ratio": ratio,
        "bare_breach_writes_10k_s": floor,
        "scan_vs_bare_breach_writes_ratio": large / floor,
        "scan_10k_due_10k_open_s": small,
        "scan_open_growth_ratio": growth,
        "scan_10k_pauses_over_1m_open_s": resumed,
        "resume_vs_bare_update_ratio": resumed / bare,
    }


def _resume_cost(world: dict, opened: int) -> float:
    """One scan of 10,000 agreed pauses at their maximum among the open clocks."""
    from alignment import clock
    from sla.scan import scan

    held = _insert(
        world,
        tag="held",
        count=DUE,
        due_sql="%(now)s - interval '1 minute' - (g || ' seconds')::interval",
        warned=True,
        paused_share=1,
    )
    times = []
    for _ in range(RUNS):
        _repause(held)
        started = time.perf_counter()
        result = scan(now=clock.now())
        times.append(time.perf_counter() - started)
        # Resumed with the five business days they had left: not due again yet.
        assert (result.resumed, result.breached) == (DUE, 0), result
    return _median(f"scan, {DUE:,} pauses at their maximum among {opened:,} open", times)


# -- (b) scanners in parallel --------------------------------------------------------


def _scanner() -> dict:
    """A scan process: ready once Django is up, scans when told "go", says what it did."""
    own_database.setup_django()
    from sla.scan import scan

    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    result = scan()
    print(json.dumps({"started": started, "finished": time.time(), "breached": result.breached}))
    return {}


def _parallel(world: dict) -> dict[str, float]:
    from django.db.models import Count

    from bench import processes
    from sla.models import ClockEvent

    print(f"(b) {PARALLEL_DUE:,} due clocks breached by parallel scan processes")
    due = _insert(
        world,
        tag="parallel",
        count=PARALLEL_DUE,
        due_sql="%(now)s - interval '1 minute' - ((g %% 600) || ' seconds')::interval",
        warned=True,
    )
    env = {k: v for k, v in os.environ.items() if k != CHILD_FLAG}
    env[SCANNER_FLAG] = "1"
    result = {}
    for count in SCANNERS:
        _rearm(due)
        scanners = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.bench_scan"],
                cwd=processes.ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        for proc in scanners:
            assert proc.stdout.readline().strip() == "ready"
        for proc in scanners:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = [json.loads(proc.communicate(timeout=600)[0]) for proc in scanners]
        elapsed = max(r["finished"] for r in reports) - min(r["started"] for r in reports)
        shares = [r["breached"] for r in reports]
        events = ClockEvent.objects.filter(kind="sla_breached", clock_id__in=due)
        per_clock = set(events.values("clock").annotate(n=Count("id")).values_list("n", flat=True))
        assert sum(shares) == PARALLEL_DUE, shares
        assert per_clock == {1}, per_clock
        rate = PARALLEL_DUE / elapsed
        print(f"  {count} scanner(s): {elapsed:.2f} s, {rate:,.0f} breaches/s (shares {shares})")
        result[f"parallel_{count}_scanners_s"] = elapsed
    for count in SCANNERS[1:]:
        speedup = result["parallel_1_scanners_s"] / result[f"parallel_{count}_scanners_s"]
        print(f"  {count} scanners vs 1: {speedup:.2f}x as fast")
        result[f"parallel_{count}_vs_1_ratio"] = speedup
    return result


# -- (c) deadline -> breach visible under the running beat ---------------------------


def _breach_visible(world: dict) -> dict[str, float]:
    from django.db import close_old_connections, connection

    from bench import processes
    from sla.models import Clock

    print(
        f"(c) deadline -> breach visible to another connection: {BURSTS} bursts of {BURST:,} "
        f"clocks due within one second, beat every {BEAT_SECONDS} s"
    )
    delays: list[float] = []
    with tempfile.TemporaryDirectory() as name, processes.redis_server(Path(name)) as broker:
        folder = Path(name)
        env = processes.app_env(broker, folder, SLA_SCAN_SECONDS=str(BEAT_SECONDS))
        logs = {p: folder / f"{p}.log" for p in ("scan", "email", "beat")}
        with (
            processes.running(processes.worker_args("scan"), env, logs["scan"]),
            processes.running(processes.worker_args("email"), env, logs["email"]),
            processes.running(processes.beat_args(folder / "beat"), env, logs["beat"]),
        ):
            # Start-up is not counted: wait for the first scan to have run.
            processes.wait_for(
                lambda: (
                    "sla.tasks.scan" in logs["scan"].read_text()
                    and "succeeded" in logs["scan"].read_text()
                ),
                timeout=BEAT_SECONDS + 60,
                what="the first scan",
                logs=list(logs.values()),
            )
            for burst in range(BURSTS):
                offset = random.uniform(2, 2 + BEAT_SECONDS)
                # All due within the same second, `offset` seconds from now.
                due_sql = (
                    f"date_trunc('second', %(now)s) + interval '{offset:.3f} seconds'"
                    " + (g %% 1000) * interval '1 millisecond'"
                )
                ids = _insert(
                    world, tag=f"burst-{burst}", count=BURST, due_sql=due_sql, warned=True
                )
                due_at = dict(Clock.objects.filter(pk__in=ids).values_list("pk", "due_at"))
                seen: dict[int, float] = {}
                deadline = time.monotonic() + offset + 3 * BEAT_SECONDS + 60
                while len(seen) < len(ids) and time.monotonic() < deadline:
                    with connection.cursor() as cursor:
                        cursor.execute(
                            "SELECT id FROM sla_clock WHERE id = ANY(%s) AND state = 'breached'",
                            [[i for i in ids if i not in seen]],
                        )
                        now = time.time()
                        seen.update({row[0]: now for row in cursor.fetchall()})
                    time.sleep(0.05)
                assert len(seen) == len(ids), f"burst {burst}: {len(seen)} of {len(ids)} breached"
                these = [seen[i] - due_at[i].timestamp() for i in ids]
                print(
                    f"  burst {burst + 1}: due {offset:.1f} s after it was written; "
                    f"visible after {min(these):.1f} to {max(these):.1f} s"
                )
                delays += these
    close_old_connections()
    delays.sort()
    p50 = statistics.median(delays)
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    print(
        f"  deadline -> breach visible: p50 {p50:.1f} s, p99 {p99:.1f} s, max {delays[-1]:.1f} s "
        f"(aim: p99 at most {BEAT_SECONDS + 3} s)"
    )
    return {
        "breach_visible_p50_s": p50,
        "breach_visible_p99_s": p99,
        "breach_visible_max_s": delays[-1],
    }


if __name__ == "__main__":
    main()
