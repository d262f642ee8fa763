"""Do the reads of the history tables touch only the months they need?

Loads the dashboard bench's data (bench.bench_dashboard: BENCH_PART_LEADS leads,
default 1,000,000, ten lead events each, their clocks and the day rollup, over
the last 365 days) plus BENCH_PART_NOTIFICATIONS notifications (default one per
lead) into monthly partitions made for the past 13 months (alignment.partitions),
then prints EXPLAIN (ANALYZE) of the inbox, the lead page's history, a person's
notifications, and the dashboard's rollup and rejection reads, with how many
partitions each plan reads of how many there are. The figure: the partitions
read by the lead page and the dashboard's last 30 days (aim: 1 or 2 months of 17).

    BENCH_DATABASE_TAG=partition python -m bench.bench_partitions
    BENCH_PART_LEADS=100000 python -m bench.bench_partitions
"""

from __future__ import annotations

import json
import os
import re
import time

from bench import own_database

BENCH_DB = "alignment_bench_part"
LEADS = int(os.environ.get("BENCH_PART_LEADS", 1_000_000))
NOTIFICATIONS = int(os.environ.get("BENCH_PART_NOTIFICATIONS", LEADS))
CHILD_FLAG = "BENCH_PARTITIONS_CHILD"


def main() -> dict:
    if os.environ.get(CHILD_FLAG):
        return _child()
    return own_database.run(
        module="bench.bench_partitions",
        database=BENCH_DB,
        child_flag=CHILD_FLAG,
        env={"BENCH_DASH_LEADS": str(LEADS)},
    )


def _child() -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from alignment import partitions
    from bench import bench_dashboard

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    made = partitions.ensure(now=timezone.now(), ahead=3, back=13)
    print(f"{len(made)} partitions made for the past 13 months and 3 ahead", flush=True)
    seeded = bench_dashboard._seed()
    bench_dashboard._load(seeded, 1, LEADS)
    _notifications(seeded["reps"])
    bench_dashboard._analyze()
    print(f"{LEADS:,} leads loaded in {time.perf_counter() - started:.0f} s", flush=True)
    result = {"leads": LEADS}
    for label, queryset in _reads().items():
        read, total = _explain(label, queryset)
        result[f"{label}_partitions_read"] = read
        result[f"{label}_partitions"] = total
    print(own_database.RESULT_PREFIX + json.dumps(result))
    return result


def _notifications(reps: list[int]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO alignment_notification (recipient_id, key, kind, title, body, url,
                created_at, read_at, email_state, email_attempts, email_error)
            SELECT (%(reps)s::int[])[1 + g %% 6], 'bench:' || g, 'sla_breached',
                'Lead ' || g || ' breached', '', '/leads/' || g || '/',
                now() - (g %% 365) * interval '1 day',
                CASE WHEN g %% 365 > 7 THEN now() END, 'sent', 1, ''
            FROM generate_series(1, %(n)s) AS g
            """,
            {"reps": reps, "n": NOTIFICATIONS},
        )
        print(f"  {NOTIFICATIONS:,} notifications: {time.perf_counter() - started:.1f} s")


def _reads() -> dict:
    """The reads, as the views make them (the same selectors)."""
    from datetime import timedelta

    from django.utils import timezone

    from alignment.models import Notification, User
    from leads import reports, selectors
    from leads.models import Lead
    from leads.report_filters import parse_filters, sales_teams
    from sla.models import ClockDayRollup

    rep = User.objects.get(username="ravi")
    # A lead of some 200 days ago: its page reads its month and the ones since.
    lead = (
        Lead.objects.filter(owner=rep, created_at__lt=timezone.now() - timedelta(days=200))
        .order_by("-created_at")
        .first()
    )
    today = timezone.now().date()
    sam = User.objects.get(username="sam")
    filters = parse_filters({}, user=sam, teams=sales_teams())
    return {
        "inbox": selectors.inbox(rep)[:50],
        "lead_page_history": selectors.lead_events(lead),
        "notifications": Notification.objects.filter(recipient=rep).order_by("-created_at", "-id")[
            :25
        ],
        "dashboard_rollup_30_days": ClockDayRollup.objects.filter(
            day__gte=today - timedelta(days=30), day__lte=today
        ),
        "dashboard_rejections": reports.rejection_events(filters),
    }


def _explain(label: str, queryset) -> tuple[int, int]:
    from django.db import connection

    from alignment import partitions

    plan = queryset.explain(analyze=True)
    sql = str(queryset.query)
    touched = set(re.findall(r"on (\w+_(?:p\d{6}|default))", plan))
    total = sum(
        len(partitions.months_of(spec.table)) + 1
        for spec in partitions.TABLES
        if spec.table in sql and partitions.is_partitioned(spec.table)
    )
    print(f"\n== {label} ({connection.vendor}): reads {len(touched)} of {total} partitions")
    print(plan, flush=True)
    return len(touched), total


if __name__ == "__main__":
    main()
