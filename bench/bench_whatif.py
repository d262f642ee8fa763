"""The what-if replay: 90 days of 100,000 leads in at most 5 s.

A draft (a faster accept goal) and the agreement in force (the demo's v1, on the
demo's calendars: New York with a lunch break, Berlin, US and German holidays)
replayed side by side over 100,000 leads handed off in the last 90 days, each
with its real-looking story: accepted (85%) or rejected (10%) within hours, one
to three touches over days, some closed; about 400,000 lead events in all.
`sla.whatif.whatif` does what the draft's page does (both agreements in one pass).
Baseline, in the same run: reading the same rows alone (the two queries the
replay makes, streamed and discarded): replay / read says what the deadline
arithmetic and the tallies cost on top of the database.

Rows are loaded with INSERT ... SELECT generate_series, not the ORM, in a
PostgreSQL database of its own (alignment_bench_whatif_<random>, dropped after):

    python -m bench.bench_whatif
"""

from __future__ import annotations

import json
import os
import statistics
import time

from bench import own_database

CHILD_FLAG = "BENCH_WHATIF_CHILD"
LEADS = int(os.environ.get("BENCH_WHATIF_LEADS", "100000"))
DAYS = 90
RUNS = int(os.environ.get("BENCH_WHATIF_RUNS", "3"))
AIM_SECONDS = 5.0


def main() -> dict[str, float]:
    if os.environ.get(CHILD_FLAG):
        return _child()
    return own_database.run(
        module="bench.bench_whatif", database="alignment_bench_whatif", child_flag=CHILD_FLAG
    )


def _child() -> dict[str, float]:
    import io

    import django

    django.setup()
    from django.core.management import call_command

    from alignment import clock
    from alignment.demo import seed_organisation
    from sla import demo as sla_demo
    from sla import selectors
    from sla.agreements import agreement_draft_create
    from sla.whatif import _event_rows, _lead_rows, handed_off_in, replay_period, whatif

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    people = {p.username: p for p in seed_organisation()}
    sla_demo.seed_demo(stdout=io.StringIO())
    now = clock.now()
    _load(now)
    print(f"migrated and loaded {LEADS} leads in {time.perf_counter() - started:.1f} s")
    in_force = selectors.agreement_in_force()
    goals = [
        {**g, "accept_hours": 2} if g["label"] == "Everyone else" else g
        for g in sla_demo.DEMO_AGREEMENT_GOALS
    ]
    draft = selectors.agreement_detail(
        agreement_draft_create(by=people["maya"], goals=goals, summary="Faster").pk
    )
    period = replay_period(now=now)

    def read() -> None:
        handed = handed_off_in(period)
        for _ in _lead_rows(handed, [draft, in_force]):
            pass
        for _ in _event_rows(handed, period):
            pass

    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        cProfile.runctx(
            "whatif(draft=draft, base=in_force, period=period)",
            globals(),
            locals(),
            "/tmp/whatif.prof",
        )
        pstats.Stats("/tmp/whatif.prof").sort_stats("tottime").print_stats(25)
    replays, reads, cpu, result = [], [], [], {}
    for _ in range(RUNS):
        t = time.perf_counter()
        read()
        reads.append(time.perf_counter() - t)
        t, c = time.perf_counter(), time.process_time()
        result = whatif(draft=draft, base=in_force, period=period)
        replays.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    replay_s, read_s = statistics.median(replays), statistics.median(reads)
    cpu_s = statistics.median(cpu)
    clocks = sum(result["draft"]["total"][k] for k in ("met", "breached"))
    print(f"leads replayed: {result['leads']}, clocks judged per agreement: {clocks}")
    for sentence in result["difference"]:
        print(f"  {sentence}")
    print(
        f"replay of 2 agreements over {DAYS} days of {result['leads']} leads: "
        f"median {replay_s:.2f} s of {RUNS} (aim: at most {AIM_SECONDS:.0f} s); "
        f"reading the same rows alone {read_s:.2f} s; replay / read {replay_s / read_s:.1f}; "
        f"the replay's own CPU time {cpu_s:.2f} s (wall time above includes waiting for "
        f"the CPU on a loaded machine: load average {os.getloadavg()[0]:.1f})"
    )
    figures = {
        "replay_seconds": round(replay_s, 2),
        "read_seconds": round(read_s, 2),
        "replay_over_read_ratio": round(replay_s / read_s, 2),
        "replay_cpu_seconds": round(cpu_s, 2),
    }
    print(own_database.RESULT_PREFIX + json.dumps(figures))
    return figures


def _load(now) -> None:
    """LEADS leads handed off over the last DAYS days to the two sales teams' reps, and
    their stories as lead events (INSERT ... SELECT)."""
    from django.db import connection

    from alignment.models import Team, User
    from alignment.roles import ROLE_NAMES, Role

    teams = list(Team.objects.filter(name__in=["Sales Americas", "Sales EMEA"]).order_by("name"))
    reps = {
        t.pk: list(
            User.objects.filter(team=t, groups__name=ROLE_NAMES[Role.SALES_REP]).values_list(
                "pk", flat=True
            )
        )
        for t in teams
    }
    params = {
        "n": LEADS,
        "now": now,
        "days": DAYS,
        "team_a": teams[0].pk,
        "team_b": teams[1].pk,
        "reps_a": reps[teams[0].pk],
        "reps_b": reps[teams[1].pk],
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            """
            INSERT INTO leads_lead (
                source, external_id, email, first_name, last_name, company, title, country,
                phone, attributes, score, score_explanation, stage, rejection_note, is_history,
                touch_count, version, created_at, updated_at, handed_off_at, owner_id, team_id,
                attempts_agreed, pause_reason
            )
            SELECT 'bench', 'L' || n, 'bench' || n || '@example.com', 'Bench', n::text, 'Acme',
                   'Director', 'Germany', '',
                   jsonb_build_object('Lead Origin',
                       CASE WHEN n %% 4 = 0 THEN 'Lead Add Form' ELSE 'Landing Page Submission'
                       END),
                   (random() * 100)::int, '{}'::jsonb, 'mql', '', false, 0, 1, t, t, t,
                   CASE WHEN n %% 2 = 0
                        THEN (%(reps_a)s::bigint[])[1 + n / 2 %% array_length(%(reps_a)s, 1)]
                        ELSE (%(reps_b)s::bigint[])[1 + n / 2 %% array_length(%(reps_b)s, 1)]
                   END,
                   CASE WHEN n %% 2 = 0 THEN %(team_a)s ELSE %(team_b)s END, 3, ''
            FROM generate_series(1, %(n)s) AS n,
                 LATERAL (SELECT %(now)s - random() * %(days)s * interval '1 day' AS t) x
            """,
            params,
        )
        cursor.execute(
            """
            CREATE TEMP TABLE story AS
            SELECT id, owner_id, team_id, handed_off_at AS t0, random() AS fate,
                   handed_off_at + random() * interval '14 hours' AS t1,
                   random() * interval '20 hours' AS d2, random() * interval '3 days' AS d3,
                   random() * interval '6 days' AS d4
            FROM leads_lead WHERE source = 'bench'
            """
        )
        cursor.execute(
            """
            INSERT INTO leads_leadevent (lead_id, kind, actor_id, occurred_at, from_stage,
                                         to_stage, data)
            SELECT * FROM (
            SELECT id, 'handed_off', NULL::bigint AS actor, t0 AS at, 'mql', 'mql',
                   jsonb_build_object('to', owner_id, 'team', team_id) FROM story
            UNION ALL
            SELECT id, CASE WHEN fate < 0.85 THEN 'accepted' ELSE 'rejected' END, owner_id, t1,
                   'mql', CASE WHEN fate < 0.85 THEN 'sal' ELSE 'nurture' END, '{}'::jsonb
            FROM story WHERE fate < 0.95
            UNION ALL
            SELECT id, 'touched', owner_id, t1 + d2, 'sal', 'sal', '{}'::jsonb
            FROM story WHERE fate < 0.8
            UNION ALL
            SELECT id, 'touched', owner_id, t1 + d2 + d3, 'sal', 'sal', '{}'::jsonb
            FROM story WHERE fate < 0.6
            UNION ALL
            SELECT id, 'closed', owner_id, t1 + d2 + d3 + d4, 'sal', 'lost', '{}'::jsonb
            FROM story WHERE fate < 0.3
            ) AS e WHERE at <= %s
            """,
            [now],
        )
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("ANALYZE leads_leadevent")


if __name__ == "__main__":
    main()
