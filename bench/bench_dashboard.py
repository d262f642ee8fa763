"""How fast is the dashboard with 1,000,000 leads and 10,000,000 lead events?

Data (PostgreSQL `INSERT ... SELECT generate_series`, not the ORM), over the
last 365 days, in two sales teams of three reps: 1,000,000 handed-off leads in
every stage (accepted, rejected, qualified, converted, won with amounts, lost,
no decision; sources, campaigns, scores, two definition versions), 10,000,000
lead events, one accept clock per lead (12% breached), a first-touch clock for
every accepted lead, the business-time rollup of every met clock as
`refresh_durations` leaves it (business seconds taken as a fixed share of the
wall time: the bench measures reads, not calendar arithmetic), arbiter cases,
commitment results, a revenue target.

Measured through Django's test Client (the whole middleware stack and
templates), as sam (a sales manager, his team, the default last 30 days) and
comparing all teams: the dashboard page and each of its ten panels, p50 and
p95, against a bare Django page (`/health/`) in the same run. "The dashboard"
is the slowest panel (the browser loads the panels in parallel).

It runs in its own database (alignment_bench_dash, created, migrated and
dropped again), in a child process whose settings point there:

    python -m bench.bench_dashboard
"""

from __future__ import annotations

import json
import os
import statistics
import time

from bench import own_database

BENCH_DB = "alignment_bench_dash"
LEADS = int(os.environ.get("BENCH_DASH_LEADS", 1_000_000))
EVENTS_PER_LEAD = 10
REQUESTS = int(os.environ.get("BENCH_DASH_REQUESTS", 40))
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
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    _seed()
    loaded = time.perf_counter() - started
    print(f"data loaded in {loaded:.0f} s")
    result = {"load_seconds": round(loaded, 1), **_measure()}
    print(RESULT_PREFIX + json.dumps(result))
    return result


def _step(label: str, cursor, sql: str, params=None) -> None:
    started = time.perf_counter()
    cursor.execute(sql, params or [])
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)


def _seed() -> None:
    from datetime import date, timedelta
    from decimal import Decimal

    from django.db import connection
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
    team_ids = [americas.pk, emea.pk]
    rep_array = reps[americas.pk] + reps[emea.pk]
    with connection.cursor() as cursor:
        # The append-only trigger stays: these are inserts only.
        _step(
            f"{LEADS:,} leads",
            cursor,
            """
            INSERT INTO leads_lead (source, external_id, email, first_name, last_name, company,
                title, country, phone, attributes, campaign_id, score, score_explanation,
                definition_version_id, stage, owner_id, team_id, rejection_reason_id,
                rejection_note, amount, is_history, touch_count, version, created_at, updated_at,
                handed_off_at, accepted_at, rejected_at, first_touch_at, qualified_at,
                converted_at, closed_at, stale_since)
            SELECT
                (ARRAY['webinar','ads','organic','referral','events','partner','email','social'])
                    [1 + g %% 8],
                'b' || g, '', 'Lead', g::text, '', '', '', '', '{}'::jsonb,
                CASE WHEN g %% 3 = 0 THEN NULL ELSE (%(campaigns)s::int[])[1 + g %% 10] END,
                (g * 79) %% 100, '{}'::jsonb, (%(versions)s::int[])[1 + (g / 500000) %% 2],
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
                CASE WHEN r.o = 1 AND g %% 4 = 0 THEN h.at + interval '1 day' END
            FROM generate_series(1, %(n)s) AS g,
                LATERAL (SELECT now() - (g %% 365) * interval '1 day'
                                - ((g * 13) %% 86400) * interval '1 second' AS at) AS h,
                LATERAL (SELECT CASE
                    WHEN g %% 100 < 15 THEN 0 WHEN g %% 100 < 25 THEN 1
                    WHEN g %% 100 < 45 THEN 2 WHEN g %% 100 < 60 THEN 3
                    WHEN g %% 100 < 70 THEN 4 WHEN g %% 100 < 80 THEN 5
                    WHEN g %% 100 < 92 THEN 6 ELSE 7 END AS o) AS r
            """,
            {
                "campaigns": campaigns,
                "versions": versions,
                "reps": rep_array,
                "teams": team_ids,
                "reasons": reasons,
                "n": LEADS,
            },
        )
        cursor.execute("SELECT min(id) FROM leads_lead WHERE external_id LIKE 'b%%'")
        first = cursor.fetchone()[0]
        _step(
            f"{LEADS * EVENTS_PER_LEAD:,} lead events",
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
            {"first": first, "n": LEADS, "total": LEADS * EVENTS_PER_LEAD},
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
            FROM leads_lead l WHERE {where}
        """
        _step(
            "accept clocks",
            cursor,
            clock_sql.format(start="handed_off_at", where="l.handed_off_at IS NOT NULL"),
            {"kind": "accept", "agreement": agreement.pk, "goals": goals},
        )
        _step(
            "first-touch clocks",
            cursor,
            clock_sql.format(start="accepted_at", where="l.accepted_at IS NOT NULL"),
            {"kind": "first_touch", "agreement": agreement.pk, "goals": goals},
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
            WHERE c.met_at IS NOT NULL OR c.resolved_at IS NOT NULL
            """,
        )
        _step(
            "met events of the last day (what the refresh reads)",
            cursor,
            """
            INSERT INTO sla_clockevent (clock_id, lead_id, kind, occurred_at, recorded_at, data)
            SELECT c.id, c.lead_id, 'met', c.met_at, c.met_at, '{}'::jsonb
            FROM sla_clock c WHERE c.met_at > now() - interval '1 day'
            """,
        )
        _step(
            "arbiter cases for escalated breaches",
            cursor,
            """
            INSERT INTO sla_arbitercase (kind, lead_id, clock_id, opened_at, decision,
                against_side, reason, decided_at)
            SELECT 'escalation', c.lead_id, c.id, c.escalated_at,
                CASE WHEN c.id %% 3 = 0 THEN '' WHEN c.id %% 3 = 1 THEN 'reassign'
                     ELSE 'return' END,
                CASE WHEN c.id %% 3 = 0 THEN '' WHEN c.id %% 3 = 1 THEN 'sales'
                     ELSE 'marketing' END, '',
                CASE WHEN c.id %% 3 = 0 THEN NULL ELSE c.escalated_at + interval '1 day' END
            FROM sla_clock c WHERE c.escalated_at IS NOT NULL
            """,
        )
        _step("vacuum analyze", cursor, "VACUUM ANALYZE")
        for table in ("leads_lead", "leads_leadevent", "sla_clock", "sla_clockduration"):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            print(f"  {table}: {cursor.fetchone()[0]:,} rows")


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


def _measure() -> dict[str, float]:
    from django.test import Client
    from django.urls import reverse

    from alignment.models import User

    client = Client()
    client.force_login(User.objects.get(username="sam"))
    bare = Client()
    result: dict[str, float] = {}
    rows = []

    def measure(label: str, url: str, who=client, **headers) -> None:
        _timings(who, url, 2, **headers)  # warm caches and connections
        times = _timings(who, url, REQUESTS, **headers)
        p50, p95 = statistics.median(times), _p(times, 0.95)
        rows.append((label, p50, p95))
        result[f"{label}_p50_ms"] = round(p50, 1)
        result[f"{label}_p95_ms"] = round(p95, 1)

    measure("bare_page", "/health/", who=bare)
    measure("dashboard_page", reverse("sla:dashboard"))
    for scope, query in (("team", ""), ("all", "?team=all")):
        for name in SLA_PANELS + LEADS_PANELS:
            url = reverse("sla:panel" if name in SLA_PANELS else "leads:report_panel", args=[name])
            measure(f"{scope}_{name}", url + query, HTTP_HX_REQUEST="true")
    panels = [r for r in rows if r[0].startswith(("team_", "all_"))]
    slowest = max(panels, key=lambda r: r[2])
    result["dashboard_p95_ms"] = round(slowest[2], 1)
    result["dashboard_ratio"] = round(slowest[2] / max(result["bare_page_p95_ms"], 0.01), 1)
    print(f"\n{'request':<24}{'p50 ms':>10}{'p95 ms':>10}   ({REQUESTS} requests each)")
    for label, p50, p95 in rows:
        print(f"{label:<24}{p50:>10.1f}{p95:>10.1f}")
    print(
        f"\ndashboard p95 (slowest panel, {slowest[0]}): {slowest[2]:.1f} ms; "
        f"bare page p95 {result['bare_page_p95_ms']:.1f} ms; "
        f"ratio {result['dashboard_ratio']}x"
    )
    return result


if __name__ == "__main__":
    import django  # noqa: F401

    main()
