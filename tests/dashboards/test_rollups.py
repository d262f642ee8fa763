"""The dashboard's rollups: kept as clocks are met, never written by a read, and a
histogram whose percentiles stay within 5 minutes or 1% of the exact ones."""

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sla import dashboard, rollups
from sla.models import ClockDayRollup, ClockDuration, ClockEvent, ClockKind
from sla.views_dashboard import PANELS
from tests.dashboards.conftest import at
from tests.dashboards.factories import LeadFactory, make_clock

pytestmark = pytest.mark.django_db


def _allowed(exact: float) -> float:
    return max(300, exact / 100)


@pytest.mark.parametrize("seed", range(6))
def test_a_percentile_from_the_buckets_is_within_five_minutes_or_one_percent(seed):
    rng = random.Random(seed)
    # Minutes to months, small and large samples, skewed as response times are.
    scale = rng.choice([600, 3600, 8 * 3600, 5 * 86400])
    values = [int(rng.lognormvariate(0, 1.2) * scale) for _ in range(rng.choice([7, 300, 5000]))]
    counts: dict[int, int] = {}
    for v in values:
        counts[rollups.bucket_of(v)] = counts.get(rollups.bucket_of(v), 0) + 1
    for fraction in (0.5, 0.9):
        exact = dashboard.percentile(values, fraction)
        assert abs(rollups.histogram_percentile(counts, fraction) - exact) <= _allowed(exact)


def test_every_bucket_holds_what_its_bounds_say_and_the_panel_edges_are_bucket_edges():
    for bucket in range(rollups.LAST_BUCKET):
        low, high = rollups.bucket_bounds(bucket)
        assert rollups.bucket_of(low) == bucket
        assert rollups.bucket_of(high - 1) == bucket
        assert high - low <= max(600, low // 50)
    lows = {rollups.bucket_bounds(b)[0] for b in range(rollups.LAST_BUCKET)}
    assert {h * 3600 for h in dashboard.HISTOGRAM_EDGES_HOURS} <= lows
    assert rollups.bucket_of(10**9) == rollups.LAST_BUCKET


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL form is PostgreSQL's")
def test_the_sql_bucket_is_the_python_bucket():
    seconds = [0, 1, 599, 600, 35_999, 36_000, 36_719, 72_000, 86_400, 10**6, 10**8, 10**9]
    seconds += list(range(0, 40 * 86_400, 3_917))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s, {rollups.bucket_sql('s')} FROM unnest(%s::int[]) AS s", [seconds]
        )
        assert dict(cursor.fetchall()) == {s: rollups.bucket_of(s) for s in seconds}


def _five_clocks(org, americas):
    # Business hours taken (Sales Americas: 09:00-17:00 New York): 1, 2, 2, 3, 4.
    for rep, started, met in (
        ("ravi", "2025-03-10 14:00", "2025-03-10 15:00"),
        ("ravi", "2025-03-10 14:00", "2025-03-10 16:00"),
        ("ravi", "2025-03-10 14:00", "2025-03-10 16:00"),
        ("ravi", "2025-03-11 14:00", "2025-03-11 17:00"),
        ("carmen", "2025-03-12 14:00", "2025-03-12 18:00"),
    ):
        lead = LeadFactory(owner=org[rep], team=americas)
        make_clock(lead=lead, by=org["admin"], started_at=at(started), met_at=at(met))


def test_a_busy_period_reads_the_buckets_and_stays_within_the_bound(
    org, americas, emea, march, monkeypatch
):
    _five_clocks(org, americas)
    exact = dashboard.speed(march, [americas, emea]).figures
    monkeypatch.setattr(dashboard, "EXACT_UP_TO", 0)
    from_buckets = dashboard.speed(march, [americas, emea])

    assert exact["accept_median_hours"] == 2.0
    assert from_buckets.figures["accept_count"] == 5
    for figure in ("accept_median_hours", "accept_p90_hours"):
        assert abs(from_buckets.figures[figure] - exact[figure]) <= 5 / 60 + 0.05  # rounding
    assert [r[1] for r in from_buckets.table("speed_distribution").rows] == [0, 1, 3, 1, 0, 0, 0]
    # The day rollup: one row per day, rep and bucket, however many clocks it counts.
    assert ClockDayRollup.objects.filter(kind=ClockKind.ACCEPT).count() == 4
    assert sum(ClockDayRollup.objects.values_list("n", flat=True)) == 5


def test_no_panel_writes_on_a_get(client, org, americas):
    _five_clocks(org, americas)
    client.force_login(org["sam"])
    for name in PANELS:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(
                reverse("sla:panel", args=[name]) + "?start=2025-03-01&end=2025-03-31",
                HTTP_HX_REQUEST="true",
            )
        assert response.status_code == 200
        writes = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")
        ]
        assert writes == [], name


def test_the_catch_up_keeps_a_clock_met_without_its_duration_once(org, americas, march):
    lead = LeadFactory(owner=org["ravi"], team=americas)
    clock = make_clock(
        lead=lead, by=org["admin"], started_at=at("2025-03-10 14:00"), met_at=at("2025-03-10 15:00")
    )
    # As before the rollup existed: the met event without its duration or day count.
    ClockDuration.objects.all().delete()
    ClockDayRollup.objects.all().delete()
    assert ClockEvent.objects.filter(clock=clock, kind="met").exists()

    assert rollups.catch_up() == 1
    assert rollups.catch_up() == 0
    if connection.vendor == "postgresql":
        assert rollups.rebuild() == 1
    report = dashboard.attainment(march)
    assert report.table("attainment").rows[0][2:4] == [1, 0]
    assert ClockDuration.objects.get().business_seconds == timedelta(hours=1).total_seconds()
