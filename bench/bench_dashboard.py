"""Does each dashboard panel cost what its period holds, not what the database holds?

Data (PostgreSQL `INSERT ... SELECT generate_series`, not the ORM), over the
last 365 days, in two sales teams of three reps: handed-off leads in every stage
(accepted, rejected, qualified, converted, won with amounts, lost, no decision;
sources, campaigns, scores, two definition versions), ten lead events each, one
accept clock per lead (12% breached), a first-touch clock for every accepted
lead, their durations as the engine keeps them (business seconds taken as a
fixed share of the wall time: the bench measures reads, not calendar
arithmetic), the day rollups (clocks, leads, arbiter cases) rebuilt from them, commitment
results, a revenue target.

Breaches are resolved as the engine resolves them: most when the lead is acted on
(a day later), the escalated ones when the arbiter decides their case (two in
three; acting on the lead, as a decision does, resolves its breach). Only the
escalations still waiting for the arbiter stay open. Before, every escalated breach
of the year stayed open on leads long won or lost, which no running product has:
"open now" then counted a year of them.

First BENCH_DASH_SMALL leads (default a tenth) are loaded and every panel is
measured; then the rest up to BENCH_DASH_LEADS (default 1,000,000, with
10,000,000 events) is loaded over the same days and every panel is measured
again. Each panel's p95 at the large size divided by its own p95 at the small
size is the figure (aim: 1.5 at most), with the absolute p95s. Both sizes are
measured alike: vacuumed and analysed, then a CHECKPOINT (so the checkpointer is
not writing the load out while the panels are timed), two warm-up rounds, then
BENCH_DASH_REQUESTS rounds (default 100) that go round every panel in turn. Measured
through Django's test Client (the whole middleware stack and templates), as sam
(a sales manager, his team, the default last 30 days) and across all teams.

It runs in its own database (alignment_bench_dash plus a unique suffix,
created, migrated and dropped again), in a child process:

    python -m bench.bench_dashboard
    BENCH_DASH_LEADS=100000 BENCH_DASH_REQUESTS=20 python -m bench.bench_dashboard
"""

from __future__ import annotations

import json
import os
import statistics
import time

from bench import own_database

BENCH_DB = "alignment_bench_dash"
LEADS = int(os.environ.get("BENCH_DASH_LEADS", 1_000_000))
# Measured first, then the rest is loaded over the same days: each panel's p95 at
# LEADS is compared with its own p95 at SMALL, in one run.
SMALL = int(os.environ.get("BENCH_DASH_SMALL", LEADS // 10))
EVENTS_PER_LEAD = 10
# 100 requests a panel: its p95 is then the sixth slowest, not one stray request.
REQUESTS = int(os.environ.get("BENCH_DASH_REQUESTS", 100))
WARM_ROUNDS = 2
CHILD_FLAG = "BENCH_DASHBOARD_CHILD"
RESULT_PREFIX = own_database.RESULT_PREFIX
SLA_PANELS = ["breaches", "open", "speed", "attainment", "decisions", "commitment", "revenue"]
LEADS_PANELS = ["funnel", "handoff", "scoring"]


def main() -> dict[str, float]:
    if os.environ.get(CHILD_FLAG):
        return _child()
    return own_database.run(
        module="bench.bench_dashboard", database=BENCH_DB, child_flag=CHILD_FLAG
    )


# -- the child: runs against alignment_bench_dash -----------------------------------


def _child() -> dict[str, float]:
    own_database.setup_django()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    seeded = _seed()
    _load(seeded, 1, SMALL)
    _analyze()
    print(f"{SMALL:,} leads loaded in {time.perf_counter() - started:.0f} s", flush=True)
    small = _measure(f"{SMALL:,} leads")
    started = time.perf_counter()
    _load(seeded, SMALL + 1, LEADS)
    _analyze()
    loaded = time.perf_counter() - started
    print(f"{LEADS:,} leads loaded in {loaded:.0f} s more", flush=True)
    large = _measure(f"{LEADS:,} leads")
    result = {"leads": LEADS, "small_leads": SMALL, "load_seconds": round(loaded, 1)}
    print(f"\n{'panel':<24}{'p95 ms small':>14}{'p95 ms large':>14}{'ratio':>8}")
    worst = ("", 0.0)
    for label, p95 in large.items():
        ratio = p95 / max(small[label], 0.01)
        result[f"{label}_p95_ms"] = p95
        result[f"{label}_small_p95_ms"] = small[label]
        if label.startswith(("team_", "all_")):
            worst = max(worst, (label, ratio), key=lambda w: w[1])
        print(f"{label:<24}{small[label]:>14.1f}{p95:>14.1f}{ratio:>8.2f}")
    panels = {k: v for k, v in large.items() if k.startswith(("team_", "all_"))}
    slowest = max(panels, key=panels.get)
    result["dashboard_p95_ms"] = panels[slowest]
    result["panel_growth_ratio"] = round(worst[1], 2)
    print(
        f"\nslowest panel at {LEADS:,} leads: {slowest} p95 {panels[slowest]:.1f} ms; "
        f"the panel that grew most, {worst[0]}: {worst[1]:.2f}x its p95 at {SMALL:,} leads"
    )
    print(RESULT_PREFIX + json.dumps(result))
    return result


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        _step("vacuum analyze", cursor, "VACUUM ANALYZE")
        tables = ("leads_lead", "leads_leadevent", "sla_clock", "sla_clockduration")
        rollup_tables = (
            "sla_clockdayrollup",
            "sla_speeddayrollup",
            "sla_ontimedayrollup",
            "sla_breachdayrollup",
            "sla_openbreachcount",
            "sla_casedayrollup",
            "leads_leaddayrollup",
        )
        for table in (*tables, *rollup_tables):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            print(f"  {table}: {cursor.fetchone()[0]:,} rows")
        # The load and the vacuum leave gigabytes of dirty pages at the large size: written
        # out now, not by the checkpointer while the panels are measured. The same at both
        # sizes.
        _step("checkpoint", cursor, "CHECKPOINT")


def _step(label: str, cursor, sql: str, params=None) -> None:
    started = time.perf_counter()
    cursor.execute(sql, params or [])
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)


def _seed() -> dict:
    """The organisation, definitions, campaigns, goals, commitments and target: what
    every load of leads refers to."""
    from datetime import date, timedelta
    from decimal import Decimal

    from django.utils import timezone

    from alignment.demo import seed_organisation
    from alignment.models import Team, User
    from glossary.models import DefinitionVersion, FunnelStage, RejectionReason
    from leads.models import Campaign
    from sla.models import Agreement, CommitmentResult, RevenueTarget, SalesGoal

    seed_organisation()
    now = timezone.now()
    admin = User.objects.get(username="admin")
    americas = Team.objects.get(name="Sales Americas")
    emea = Team.objects.get(name="Sales EMEA")
    reps = {
        americas.pk: list(
            User.objects.filter(username__in=["ravi", "carmen", "tom"]).values_list("pk", flat=True)
        ),
        emea.pk: list(
            User.objects.filter(username__in=["jonas", "amelie", "luca"]).values_list(
                "pk", flat=True
            )
        ),
    }
    stage = FunnelStage.objects.filter(key="mql").first() or FunnelStage.objects.create(
        key="mql", name="MQL", side="marketing", is_qualifying=True
    )
    versions = [
        DefinitionVersion.objects.create(
            stage=stage, number=900 + n, created_by=admin, created_at=now, updated_at=now
        ).pk
        for n in (1, 2)
    ]
    reasons = [
        RejectionReason.objects.get_or_create(code=f"bench-{n}", defaults={"label": f"Reason {n}"})[
            0
        ].pk
        for n in range(6)
    ]
    campaigns = [
        Campaign.objects.create(name=f"Bench campaign {n}", cost=Decimal(5000 + 1000 * n)).pk
        for n in range(10)
    ]
    agreement = Agreement.objects.create(
        number=900, created_by=admin, created_at=now, updated_at=now
    )
    goals = [
        SalesGoal.objects.create(
            agreement=agreement,
            position=n,
            label=label,
            accept_hours=hours,
            first_touch_hours=hours * 2,
        ).pk
        for n, (label, hours) in enumerate((("Hot", 2), ("Everyone else", 8)), start=1)
    ]
    today = now.date()
    for team in (americas, emea):
        for back in range(12):
            month = (today.replace(day=1) - timedelta(days=31 * back)).replace(day=1)
            CommitmentResult.objects.create(
                team=team,
                month=month,
                target_mqls=40000,
                delivered=38000 if back else 20000,
                expected_to_date=40000 if back else 26000,
                accepted=30000,
                rejected=8000,
                acceptance_rate=Decimal("78.9"),
                target_rate=70,
                pacing="met" if back else "at_risk",
                is_final=bool(back),
                computed_at=now,
            )
    RevenueTarget.objects.create(
        period_start=date(today.year, 1, 1),
        period_end=date(today.year, 12, 31),
        amount=Decimal("500000000"),
        set_by=admin,
        updated_at=now,
    )
    return {
        "campaigns": campaigns,
        "versions": versions,
        "reps": reps[americas.pk] + reps[emea.pk],
        "teams": [americas.pk, emea.pk],
        "reasons": reasons,
        "agreement": agreement.pk,
        "goals": goals,
    }


def _load(seeded: dict, first_g: int, last_g: int) -> None:
    """Leads number first_g to last_g (inclusive, spread over the last 365 days as
    every load is: a second load makes each day denser), ten events each, their
    clocks, durations, the day rollups and arbiter cases."""
    from django.db import connection

    from leads import rollups as lead_rollups
    from sla import rollups

    n = last_g - first_g + 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(max(id), 0) FROM leads_lead")
        leads_before = cursor.fetchone()[0]
        cursor.execute("SELECT COALESCE(max(id), 0) FROM sla_clock")
        clocks_before = cursor.fetchone()[0]
        # The append-only trigger stays: these are inserts only.
        _step(
            f"{n:,} leads",
            cursor,
            """
            INSERT INTO leads_lead (source, external_id, email, first_name, last_name, company,
                title, country, phone, attributes, campaign_id, score, score_explanation,
                definition_version_id, stage, owner_id, team_id, rejection_reason_id,
                rejection_note, amount, is_history, touch_count, version, created_at, updated_at,
                handed_off_at, accepted_at, rejected_at, first_touch_at, qualified_at,
                converted_at, closed_at, stale_since, pause_reason)
            SELECT
                (ARRAY['webinar','ads','organic','referral','events','partner','email','social'])
                    [1 + g %% 8],
                'b' || g, '', 'Lead', g::text, '', '', '', '', '{}'::jsonb,
                CASE WHEN g %% 3 = 0 THEN NULL ELSE (%(campaigns)s::int[])[1 + g %% 10] END,
                -- Both definition versions at every size (by g / 100: independent of the
                -- score, g %% 100, and of the team and rep, g %% 6), so the small and the
                -- large load show the same panels and the ratio measures the data's size.
                (g * 79) %% 100, '{}'::jsonb, (%(versions)s::int[])[1 + (g / 100) %% 2],
                CASE r.o
                    WHEN 0 THEN 'nurture' WHEN 1 THEN 'mql' WHEN 2 THEN 'sal' WHEN 3 THEN 'sql'
                    WHEN 4 THEN 'opportunity' WHEN 5 THEN 'won' WHEN 6 THEN 'lost'
                    ELSE 'no_decision' END,
                (%(reps)s::int[])[1 + g %% 6],
                (%(teams)s::int[])[1 + (g %% 6) / 3],
                CASE WHEN r.o = 0 THEN (%(reasons)s::int[])[1 + (g * 31) %% 6] END,
                '', CASE WHEN r.o = 5 THEN 1000 + (g * 37) %% 20000 END, false, 0, 1,
                h.at - interval '1 hour', h.at,
                h.at,
                CASE WHEN r.o >= 2 THEN h.at + interval '3 hours' END,
                CASE WHEN r.o = 0 THEN h.at + interval '4 hours' END,
                CASE WHEN r.o >= 2 THEN h.at + interval '6 hours' END,
                CASE WHEN r.o >= 3 AND r.o <> 7 THEN h.at + interval '2 days' END,
                CASE WHEN r.o IN (4, 5, 6) THEN h.at + interval '5 days' END,
                CASE WHEN r.o >= 5 THEN h.at + interval '9 days' END,
                CASE WHEN r.o = 1 AND g %% 4 = 0 THEN h.at + interval '1 day' END, ''
            FROM generate_series(%(first_g)s, %(last_g)s) AS g,
                LATERAL (SELECT now() - (g %% 365) * interval '1 day'
                                - ((g * 13) %% 86400) * interval '1 second' AS at) AS h,
                LATERAL (SELECT CASE
                    WHEN g %% 100 < 15 THEN 0 WHEN g %% 100 < 25 THEN 1
                    WHEN g %% 100 < 45 THEN 2 WHEN g %% 100 < 60 THEN 3
                    WHEN g %% 100 < 70 THEN 4 WHEN g %% 100 < 80 THEN 5
                    WHEN g %% 100 < 92 THEN 6 ELSE 7 END AS o) AS r
            """,
            {**seeded, "first_g": first_g, "last_g": last_g},
        )
        cursor.execute("SELECT min(id) FROM leads_lead WHERE id > %s", [leads_before])
        first = cursor.fetchone()[0]
        _step(
            f"{n * EVENTS_PER_LEAD:,} lead events",
            cursor,
            """
            INSERT INTO leads_leadevent (lead_id, kind, actor_id, occurred_at, from_stage,
                to_stage, data)
            SELECT %(first)s + (g %% %(n)s),
                (ARRAY['ingested','handed_off','accepted','touched','touched','touched',
                       'qualified','converted','closed','updated'])[1 + g / %(n)s],
                NULL,
                now() - ((g %% %(n)s) %% 365) * interval '1 day' + (g / %(n)s) * interval '1 hour',
                '', '', '{}'::jsonb
            FROM generate_series(0, %(total)s - 1) AS g
            """,
            {"first": first, "n": n, "total": n * EVENTS_PER_LEAD},
        )
        clock_sql = """
            INSERT INTO sla_clock (lead_id, kind, state, agreement_id, goal_id, owner_id,
                team_id, hours, started_at, warn_at, due_at, warned_at, met_at, breached_at,
                resolved_at, cancelled_at, escalation_due_at, escalated_at, paused_at,
                remaining, extended)
            SELECT l.id, %(kind)s,
                CASE WHEN l.id %% 100 < 12 THEN 'breached' ELSE 'met' END,
                %(agreement)s, (%(goals)s::int[])[1 + (l.score / 80)], l.owner_id, l.team_id,
                8, l.{start}, l.{start} + interval '6 hours', l.{start} + interval '8 hours',
                NULL,
                CASE WHEN l.id %% 100 < 12 THEN NULL
                     ELSE l.{start} + ((l.id * 17) %% 28800) * interval '1 second' END,
                CASE WHEN l.id %% 100 < 12 THEN l.{start} + interval '8 hours' END,
                CASE WHEN l.id %% 100 < 10 THEN l.{start} + interval '1 day' END,
                NULL, NULL,
                CASE WHEN l.id %% 100 < 12 AND l.id %% 100 >= 10
                     THEN l.{start} + interval '12 hours' END,
                NULL, NULL, false
            FROM leads_lead l WHERE {where} AND l.id > %(leads_before)s
        """
        _step(
            "accept clocks",
            cursor,
            clock_sql.format(start="handed_off_at", where="l.handed_off_at IS NOT NULL"),
            {"kind": "accept", "leads_before": leads_before, **seeded},
        )
        _step(
            "first-touch clocks",
            cursor,
            clock_sql.format(start="accepted_at", where="l.accepted_at IS NOT NULL"),
            {"kind": "first_touch", "leads_before": leads_before, **seeded},
        )
        _step(
            "business-time rollup of met clocks",
            cursor,
            """
            INSERT INTO sla_clockduration (clock_id, kind, team_id, owner_id, goal_id, source,
                campaign_id, started_at, met_at, due_at, on_time, business_seconds)
            SELECT c.id, c.kind, c.team_id, c.owner_id, c.goal_id, l.source, l.campaign_id,
                c.started_at, COALESCE(c.met_at, c.resolved_at), c.due_at, c.met_at IS NOT NULL,
                (EXTRACT(EPOCH FROM COALESCE(c.met_at, c.resolved_at) - c.started_at) * 0.35)::int
            FROM sla_clock c JOIN leads_lead l ON l.id = c.lead_id
            WHERE (c.met_at IS NOT NULL OR c.resolved_at IS NOT NULL) AND c.id > %s
            """,
            [clocks_before],
        )
        started = time.perf_counter()
        rollups.rebuild()
        print(f"  day rollup rebuilt: {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        rollups.rebuild_breaches()
        print(f"  breach rollup rebuilt: {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        lead_rollups.rebuild()
        print(f"  leads' day rollup rebuilt: {time.perf_counter() - started:.1f} s", flush=True)
        _step(
            "arbiter cases for escalated breaches",
            cursor,
            """
            INSERT INTO sla_arbitercase (kind, lead_id, clock_id, team_id, opened_at, decision,
                against_side, reason, decided_at)
            SELECT 'escalation', c.lead_id, c.id, c.team_id, c.escalated_at,
                CASE WHEN c.id %% 3 = 0 THEN '' WHEN c.id %% 3 = 1 THEN 'reassign'
                     ELSE 'return' END,
                CASE WHEN c.id %% 3 = 0 THEN '' WHEN c.id %% 3 = 1 THEN 'sales'
                     ELSE 'marketing' END, '',
                CASE WHEN c.id %% 3 = 0 THEN NULL ELSE c.escalated_at + interval '1 day' END
            FROM sla_clock c WHERE c.escalated_at IS NOT NULL AND c.id > %s
            """,
            [clocks_before],
        )
        # The arbiter's decision acts on the lead (reassigned, returned), and acting on
        # a lead resolves its breach (sla.clocks): a decided escalation is no longer
        # open. Left open, every escalated breach of the year would count as open now.
        _step(
            "escalated breaches resolved by the arbiter's decision",
            cursor,
            """
            UPDATE sla_clock c SET resolved_at = a.decided_at
            FROM sla_arbitercase a
            WHERE a.clock_id = c.id AND a.decided_at IS NOT NULL AND c.resolved_at IS NULL
                AND c.id > %s
            """,
            [clocks_before],
        )
        started = time.perf_counter()
        rollups.rebuild_cases()
        print(f"  case rollup rebuilt: {time.perf_counter() - started:.1f} s", flush=True)


def _timings(client, url: str, n: int, **headers) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url, **headers)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code}")
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _measure(title: str) -> dict[str, float]:
    """p50 and p95 of the dashboard page and each panel, as sam (his team) and across
    all teams; returns the p95s by label. The requests go round the panels, as a
    dashboard loads them, one round after another (two rounds first to warm caches
    and connections): a moment of other work on the machine then falls on every
    panel alike, not on the one panel being measured at that moment."""
    from django.test import Client
    from django.urls import reverse

    from alignment.models import User

    client = Client()
    client.force_login(User.objects.get(username="sam"))
    urls = {"dashboard_page": (reverse("sla:dashboard"), {})}
    for scope, query in (("team", ""), ("all", "?team=all")):
        for name in SLA_PANELS + LEADS_PANELS:
            url = reverse("sla:panel" if name in SLA_PANELS else "leads:report_panel", args=[name])
            urls[f"{scope}_{name}"] = (url + query, {"HTTP_HX_REQUEST": "true"})
    times: dict[str, list[float]] = {label: [] for label in urls}
    for round_ in range(WARM_ROUNDS + REQUESTS):
        for label, (url, headers) in urls.items():
            took = _timings(client, url, 1, **headers)
            if round_ >= WARM_ROUNDS:
                times[label] += took
    result: dict[str, float] = {}
    print(f"\n{title}: {'request':<24}{'p50 ms':>10}{'p95 ms':>10}   ({REQUESTS} requests each)")
    for label, values in times.items():
        p50, p95 = statistics.median(values), _p(values, 0.95)
        result[label] = round(p95, 1)
        print(f"{'':<{len(title) + 2}}{label:<24}{p50:>10.1f}{p95:>10.1f}", flush=True)
    return result


if __name__ == "__main__":
    import django  # noqa: F401

    main()
