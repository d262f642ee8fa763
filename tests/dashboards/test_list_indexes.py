"""The dashboard's "oldest first" lists read a partial index in their exact order: no
sort, so the LIMIT stops the scan however many rows match (PostgreSQL's plans)."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from leads.report_filters import ReportFilters
from leads.reports import handoff_quality
from sla import dashboard
from tests.dashboards.conftest import at
from tests.dashboards.factories import LeadFactory, make_clock

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans"),
]


def _plans(run, *markers: str) -> list[str]:
    """The plans of the queries `run` sends that contain every marker, with sorting and
    sequential scans priced out: a plan still sorts if no index gives the order."""
    with CaptureQueriesContext(connection) as queries:
        run()
    found = [q["sql"] for q in queries.captured_queries if all(m in q["sql"] for m in markers)]
    assert found, markers
    plans = []
    for sql in found:
        with transaction.atomic(), connection.cursor() as cursor:
            for setting in ("enable_sort", "enable_seqscan", "enable_bitmapscan"):
                cursor.execute(f"SET LOCAL {setting} = off")
            cursor.execute("EXPLAIN " + sql)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def _plan(run, *markers: str) -> str:
    (plan,) = _plans(run, *markers)
    return plan


def test_open_breaches_and_stale_leads_are_read_in_the_order_of_their_indexes(
    org, americas, emea, march
):
    for n in range(3):
        lead = LeadFactory(owner=org["ravi"], team=americas)
        make_clock(
            lead=lead, by=org["admin"], started_at=at(f"2025-03-0{n + 1} 10:00"), breached=True
        )
    now = at("2025-03-20 10:00")

    # The open breaches and the stale leads (each lead at its oldest open breach): the
    # same index, in its order. Lead.stale_since is in no index (a breach updates the
    # lead in place).
    breaches, stale = _plans(lambda: dashboard.open_now(march, now=now), '"breached_at" ASC')

    assert "sla_clock_open_breach_order" in breaches
    assert "sla_clock_open_breach_order" in stale
    assert "Sort" not in breaches + stale
    assert "= leads_lead.team_id" in stale  # the one that lists the leads with their teams


def test_the_stuck_list_is_read_in_the_order_of_its_index(org, americas, emea):
    LeadFactory(team=americas, owner=None, stage="mql", updated_at=at("2025-03-01 10:00"))
    filters = ReportFilters(
        start=at("2025-03-01 00:00").date(),
        end=at("2025-03-31 00:00").date(),
        team_ids=(americas.pk, emea.pk),
    )

    plan = _plan(lambda: handoff_quality(filters, now=at("2025-03-20 10:00")), '"updated_at" ASC')

    assert "lead_stuck_idx" in plan
    assert "Sort" not in plan


def test_the_open_breach_count_sums_its_counts_and_the_stale_count_is_index_only(
    org, americas, march
):
    lead = LeadFactory(owner=org["ravi"], team=americas)
    make_clock(lead=lead, by=org["admin"], started_at=at("2025-03-03 10:00"), breached=True)

    with CaptureQueriesContext(connection) as queries:
        report = dashboard.open_now(march)
    # The open breaches: their counts per team, rep and kind, not the clocks.
    assert report.figures["open_breaches"] == 1
    assert any('FROM "sla_openbreachcount"' in q["sql"] for q in queries.captured_queries)
    # The stale leads (distinct leads among the open breaches): one index-only count.
    plans = _plans(lambda: dashboard.open_now(march), "COUNT(", 'FROM "sla_clock"')
    assert len(plans) == 1
    assert "Index Only Scan" in plans[0]
