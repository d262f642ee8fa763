"""Reads for the SLA dashboard: breaches, open breaches and stale leads, speed
(time to accept and to first touch in business hours), attainment per goal,
escalations and the arbiter's decisions, marketing's commitment, revenue
against the shared target.

Each panel is a few aggregate queries bounded by the period and the teams
(indexes: clocks by (team, breached_at), the day rollup by (day, team)).
Business time needs each team's calendar, which SQL does not know, so it is
worked out once per clock in the transaction that meets it (sla.rollups): one
ClockDuration per clock and the day's ClockDayRollup counts. The speed and
attainment panels sum rollups (what the period holds in days: the speed panel
ClockDayRollup's sum over goal and on time, SpeedDayRollup; attainment its clocks
met on time summed over the bucket, OnTimeDayRollup, and BreachDayRollup); the
medians are PostgreSQL's exact `percentile_cont` over the durations when the
period holds at most EXACT_UP_TO clocks, or a source or campaign is chosen (the
rollup keeps neither), and the rollup's buckets beyond (within 5 minutes or 1%).
The decisions panel sums the cases' day rollup (CaseDayRollup), which counts a
case for the team its lead had when it opened. No read writes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    Q,
    Sum,
)
from django.db.models.functions import Coalesce, TruncDate, TruncWeek

from alignment import clock
from alignment.charts import Report, Table, chart, rate
from alignment.models import Team, User
from leads.models import Dispute, DisputeStatus, Lead
from leads.report_filters import ReportFilters
from leads.reports import revenue_won
from sla import pauses, rollups
from sla.models import (
    ArbiterCase,
    BreachDayRollup,
    CaseDayRollup,
    CaseKind,
    Clock,
    ClockDuration,
    ClockKind,
    ClockState,
    CommitmentResult,
    Decision,
    OnTimeDayRollup,
    OpenBreachCount,
    Pacing,
    Pause,
    RevenueTarget,
    SpeedDayRollup,
)

OPEN_LIST_LIMIT = 20
EXACT_UP_TO = 2000
WEEKLY_AFTER_DAYS = 45
HISTOGRAM_EDGES_HOURS = [1, 2, 4, 8, 16, 24]


def _clock_q(filters: ReportFilters, prefix: str = "") -> Q:
    """Clock conditions: the teams always listed (the (team, ...) indexes serve them)."""
    q = Q(**{f"{prefix}team_id__in": filters.team_ids})
    if filters.rep_id:
        q &= Q(**{f"{prefix}owner_id": filters.rep_id})
    if filters.source:
        q &= Q(**{f"{prefix}lead__source": filters.source})
    if filters.campaign_id:
        q &= Q(**{f"{prefix}lead__campaign_id": filters.campaign_id})
    return q


def _names(user_ids) -> dict[int, str]:
    ids = {i for i in user_ids if i}
    if not ids:
        return {}
    return {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}


# --- breaches over time -------------------------------------------------------------


def _breached_per_bucket(filters: ReportFilters, weekly: bool):
    """Breaches per day (or week) and team, and per rep and team: from the day rollup,
    or from the clocks when a source or campaign (which it does not hold) is asked."""
    if _by_rollup(filters):
        base = _rollup(filters, filters.start, filters.end, model=BreachDayRollup)
        per_day = base.values("day", "team_id").annotate(breaches=Sum("n")).order_by("day")
        per_bucket = [
            {
                "bucket": r["day"] - timedelta(days=r["day"].weekday() if weekly else 0),
                "team_id": r["team_id"] or None,
                "n": r["breaches"],
            }
            for r in per_day
        ]
        per_rep = [
            {**r, "owner_id": r["owner_id"] or None, "team_id": r["team_id"] or None}
            for r in base.values("owner_id", "team_id")
            .annotate(
                breaches=Sum("n"),
                accept=Coalesce(Sum("n", filter=Q(kind=ClockKind.ACCEPT)), 0),
                touch=Coalesce(Sum("n", filter=Q(kind=ClockKind.FIRST_TOUCH)), 0),
            )
            .order_by("-breaches", "owner_id")
        ]
        return per_bucket, [{**r, "n": r["breaches"]} for r in per_rep]
    base = Clock.objects.filter(
        _clock_q(filters),
        breached_at__gte=filters.start_at,
        breached_at__lt=filters.end_at,
    )
    trunc = TruncWeek if weekly else TruncDate
    per_bucket = (
        base.annotate(bucket=trunc("breached_at"))
        .values("bucket", "team_id")
        .annotate(n=Count("*"))
        .order_by("bucket")
    )
    per_rep = (
        base.values("owner_id", "team_id")
        .annotate(
            n=Count("*"),
            accept=Count("id", filter=Q(kind=ClockKind.ACCEPT)),
            touch=Count("id", filter=Q(kind=ClockKind.FIRST_TOUCH)),
        )
        .order_by("-n", "owner_id")
    )
    return per_bucket, list(per_rep)


# Long: one panel read top to bottom (its queries, then its tables and chart), so
# the query count in the docstring can be checked against the code in one place.
def breaches(filters: ReportFilters, teams: list[Team]) -> Report:
    """Breaches per day (per week beyond 45 days) by team, per rep, and open now (3 queries)."""
    weekly = filters.days > WEEKLY_AFTER_DAYS
    per_bucket, per_rep = _breached_per_bucket(filters, weekly)
    team_names = {t.pk: t.name for t in teams}
    shown = [t for t in teams if t.pk in filters.team_ids]
    counts: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in per_bucket:
        bucket = row["bucket"]
        if isinstance(bucket, datetime):
            bucket = bucket.date()
        counts[bucket][row["team_id"]] += row["n"]
    over_time = Table(
        "breaches_over_time",
        f"Breaches per {'week' if weekly else 'day'}",
        ["Week of" if weekly else "Day", *[t.name for t in shown], "Total"],
    )
    day = filters.start
    if weekly:
        day -= timedelta(days=day.weekday())
    step = timedelta(days=7 if weekly else 1)
    while day <= filters.end:
        per_team = counts.get(day, {})
        values = [per_team.get(t.pk, 0) for t in shown]
        over_time.rows.append([day, *values, sum(values)])
        day += step

    names = _names(r["owner_id"] for r in per_rep)
    by_rep = Table(
        "breaches_by_rep",
        "Breaches by rep",
        ["Rep", "Team", "Breaches", "Accept", "First touch"],
        [
            [
                names.get(r["owner_id"], "Unassigned"),
                team_names.get(r["team_id"], ""),
                r["n"],
                r["accept"],
                r["touch"],
            ]
            for r in per_rep
        ],
    )
    open_now = _open_breaches(filters)
    total = sum(row[-1] for row in over_time.rows)
    by_team = Table(
        "breaches_by_team",
        "Breaches by team",
        ["Team", "Breaches"],
        [[t.name, sum(counts[d].get(t.pk, 0) for d in counts)] for t in shown],
    )
    chart_table = Table(
        "breaches_over_time",
        "",
        ["Bucket", "Total"],
        [[f"{r[0]:%d %b}", r[-1]] for r in over_time.rows],
    )
    return Report(
        "breaches",
        {"breaches": total, "open_breaches": open_now, "weekly": weekly},
        [over_time, by_team, by_rep],
        [
            chart(
                "breaches_over_time",
                over_time.title,
                chart_table,
                vertical=True,
            ),
            chart("breaches_by_team", "Breaches by team", by_team, patterned=True),
        ],
    )


# --- open breaches and stale leads, now -------------------------------------------------


def _open_breaches(filters: ReportFilters) -> int:
    """How many breaches are open now: summed from their counts per team, rep and kind
    (OpenBreachCount, a few rows whatever the data holds), or counted from the clocks
    where those are not kept (SQLite) or a source or campaign is asked (1 query)."""
    if connection.vendor != "postgresql" or not _by_rollup(filters):
        return Clock.objects.filter(
            _clock_q(filters), state=ClockState.BREACHED, resolved_at__isnull=True
        ).count()
    rows = OpenBreachCount.objects.filter(team_id__in=filters.team_ids)
    if filters.rep_id:
        rows = rows.filter(owner_id=filters.rep_id)
    return rows.aggregate(n=Coalesce(Sum("n"), 0))["n"]


def _stale_leads(breached, now: datetime) -> tuple[Table, list[Lead]]:
    """The stale leads, oldest first: a lead is stale since its oldest open breach, the
    first of its clocks in the open breaches' order (the same index; a lead has at most
    one clock per kind, so that many rows per lead are enough)."""
    stale_since: dict[int, datetime] = {}
    stale_rows: list[Lead] = []
    for c in breached.select_related("lead__owner", "lead__team").order_by("breached_at", "id")[
        : OPEN_LIST_LIMIT * len(ClockKind)
    ]:
        if c.lead_id not in stale_since and len(stale_rows) < OPEN_LIST_LIMIT:
            stale_since[c.lead_id] = c.breached_at
            stale_rows.append(c.lead)
    stale_table = Table(
        "stale_leads",
        "Stale leads, oldest first",
        ["Lead", "Stage", "Rep", "Team", "Stale since", "Days stale"],
        [
            [
                str(lead),
                lead.get_stage_display(),
                str(lead.owner) if lead.owner_id else "Unassigned",
                lead.team.name if lead.team_id else "",
                stale_since[lead.pk],
                (now - stale_since[lead.pk]).days,
            ]
            for lead in stale_rows
        ],
    )
    return stale_table, stale_rows


def open_now(filters: ReportFilters, *, now: datetime | None = None) -> Report:
    """Open breaches and stale leads, oldest first, with their counts (4 queries)."""
    now = now or clock.now()
    breached = Clock.objects.filter(
        _clock_q(filters), state=ClockState.BREACHED, resolved_at__isnull=True
    )
    breach_rows = breached.select_related("lead", "owner", "team").order_by("breached_at", "id")[
        :OPEN_LIST_LIMIT
    ]
    open_table = Table(
        "open_breaches",
        "Open breaches, oldest first",
        ["Lead", "Goal", "Rep", "Team", "Breached at", "Hours open", "Escalated"],
        [
            [
                str(c.lead),
                c.get_kind_display(),
                str(c.owner) if c.owner_id else "Unassigned",
                c.team.name if c.team_id else "",
                c.breached_at,
                round((now - c.breached_at).total_seconds() / 3600, 1),
                "yes" if c.escalated_at else "no",
            ]
            for c in breach_rows
        ],
    )
    open_ids = [c.lead_id for c in breach_rows]
    stale_table, stale_rows = _stale_leads(breached, now)
    return Report(
        "open",
        {
            "open_breaches": _open_breaches(filters),
            "stale_leads": breached.values("lead_id").distinct().count(),
        },
        [open_table, stale_table],
        extra={
            "breach_lead_ids": open_ids,
            "stale_lead_ids": [lead.pk for lead in stale_rows],
        },
    )


# --- durations in business hours ------------------------------------------------------


def _durations_q(filters: ReportFilters, start: datetime, end: datetime) -> Q:
    q = Q(team_id__in=filters.team_ids, met_at__gte=start, met_at__lt=end)
    if filters.rep_id:
        q &= Q(owner_id=filters.rep_id)
    if filters.source:
        q &= Q(source=filters.source)
    if filters.campaign_id:
        q &= Q(campaign_id=filters.campaign_id)
    return q


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks, as PostgreSQL's percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _by_rollup(filters: ReportFilters) -> bool:
    return not (filters.source or filters.campaign_id)


def _rollup(filters: ReportFilters, start: date, end: date, *, model):
    """A day rollup (of met clocks, or breaches) of the period's days (inclusive) and
    the filters' teams and rep."""
    rows = model.objects.filter(day__gte=start, day__lte=end, team_id__in=filters.team_ids)
    if filters.rep_id:
        rows = rows.filter(owner_id=filters.rep_id)
    return rows


def _stats_row(kind, level, team_id, owner_id, counts: dict[int, int]) -> dict[str, Any]:
    return {
        "kind": kind,
        "level": level,
        "team_id": team_id,
        "owner_id": owner_id,
        "n": sum(counts.values()),
        "p50": rollups.histogram_percentile(counts, 0.5),
        "p90": rollups.histogram_percentile(counts, 0.9),
    }


def _duration_stats(filters: ReportFilters) -> tuple[list[dict[str, Any]], dict]:
    """Count, median and p90 of business seconds per kind; per kind and team; per kind
    and rep; and the clocks per kind and bucket. From the rollup (1 query), exact
    from the durations when the period holds few clocks or the rollup cannot filter
    (1 more)."""
    if not _by_rollup(filters):
        return _exact_stats(filters), _exact_buckets(filters)
    cells = (
        _rollup(filters, filters.start, filters.end, model=SpeedDayRollup)
        .values("kind", "team_id", "owner_id", "bucket")
        .annotate(n=Sum("n"))
    )
    groups: dict[tuple, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    buckets: dict[tuple[str, int], int] = defaultdict(int)
    for cell in cells:
        kind, bucket, n = cell["kind"], cell["bucket"], cell["n"]
        groups[(kind, "all", None, None)][bucket] += n
        groups[(kind, "team", cell["team_id"] or None, None)][bucket] += n
        groups[(kind, "rep", None, cell["owner_id"] or None)][bucket] += n
        buckets[(kind, bucket)] += n
    if sum(buckets.values()) <= EXACT_UP_TO:
        return _exact_stats(filters) if buckets else [], buckets
    return [_stats_row(*key, counts) for key, counts in groups.items()], buckets


def _exact_buckets(filters: ReportFilters) -> dict[tuple[str, int], int]:
    """Clocks per kind and rollup bucket, read from the durations (a source or campaign)."""
    buckets: dict[tuple[str, int], int] = defaultdict(int)
    for kind, seconds in ClockDuration.objects.filter(
        _durations_q(filters, filters.start_at, filters.end_at)
    ).values_list("kind", "business_seconds"):
        buckets[(kind, rollups.bucket_of(seconds))] += 1
    return buckets


def _exact_stats(filters: ReportFilters) -> list[dict[str, Any]]:
    """Count, median and p90 of business seconds per kind; per kind and team; per
    kind and rep. One query on PostgreSQL (grouping sets); Python on SQLite."""
    if connection.vendor == "postgresql":
        where = ["met_at >= %s", "met_at < %s", "team_id = ANY(%s)"]
        params: list[Any] = [filters.start_at, filters.end_at, list(filters.team_ids)]
        if filters.rep_id:
            where.append("owner_id = %s")
            params.append(filters.rep_id)
        if filters.source:
            where.append("source = %s")
            params.append(filters.source)
        if filters.campaign_id:
            where.append("campaign_id = %s")
            params.append(filters.campaign_id)
        # Only fixed fragments are joined; every value goes in as a parameter.
        sql = (
            "SELECT kind, team_id, owner_id, GROUPING(team_id, owner_id), COUNT(*), "  # noqa: S608
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY business_seconds), "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY business_seconds) "
            f"FROM {ClockDuration._meta.db_table} WHERE {' AND '.join(where)} "
            "GROUP BY GROUPING SETS ((kind), (kind, team_id), (kind, owner_id))"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            result = []
            for kind, team_id, owner_id, grouping, n, p50, p90 in cursor.fetchall():
                level = {3: "all", 1: "team", 2: "rep"}[grouping]
                result.append(
                    {
                        "kind": kind,
                        "level": level,
                        "team_id": team_id,
                        "owner_id": owner_id,
                        "n": n,
                        "p50": p50,
                        "p90": p90,
                    }
                )
            return result
    groups: dict[tuple, list[int]] = defaultdict(list)
    for kind, team_id, owner_id, seconds in ClockDuration.objects.filter(
        _durations_q(filters, filters.start_at, filters.end_at)
    ).values_list("kind", "team_id", "owner_id", "business_seconds"):
        groups[(kind, "all", None, None)].append(seconds)
        groups[(kind, "team", team_id, None)].append(seconds)
        groups[(kind, "rep", None, owner_id)].append(seconds)
    return [
        {
            "kind": kind,
            "level": level,
            "team_id": team_id,
            "owner_id": owner_id,
            "n": len(values),
            "p50": percentile(values, 0.5),
            "p90": percentile(values, 0.9),
        }
        for (kind, level, team_id, owner_id), values in groups.items()
    ]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 1)


# Long: one panel read top to bottom (its queries, then its tables and chart).
def speed(filters: ReportFilters, teams: list[Team]) -> Report:
    """Time to accept and to first touch, in business hours: median and 90th
    percentile per team and rep, and their distribution (2 or 3 queries)."""
    stats, buckets = _duration_stats(filters)
    team_names = {t.pk: t.name for t in teams}
    names = _names(s["owner_id"] for s in stats if s["level"] == "rep")
    kinds = dict(ClockKind.choices)
    figures: dict[str, Any] = {}
    summary = Table(
        "speed",
        "Time to accept and to first touch (business hours)",
        ["Goal", "Who", "Clocks met", "Median (h)", "90th percentile (h)"],
    )
    order = {"all": 0, "team": 1, "rep": 2}
    for s in sorted(
        stats,
        key=lambda s: (
            s["kind"] != ClockKind.ACCEPT,
            order[s["level"]],
            team_names.get(s["team_id"], "")
            if s["level"] == "team"
            else names.get(s["owner_id"], ""),
        ),
    ):
        if s["level"] == "all":
            who = "All shown"
            figures[f"{s['kind']}_median_hours"] = _hours(s["p50"])
            figures[f"{s['kind']}_p90_hours"] = _hours(s["p90"])
            figures[f"{s['kind']}_count"] = s["n"]
        elif s["level"] == "team":
            who = team_names.get(s["team_id"], "No team")
        else:
            who = names.get(s["owner_id"], "Unassigned")
        summary.rows.append([kinds[s["kind"]], who, s["n"], _hours(s["p50"]), _hours(s["p90"])])

    edges = HISTOGRAM_EDGES_HOURS
    # Every edge is a bucket edge (sla.rollups): these counts are exact.
    counts: dict[tuple[str, int], int] = defaultdict(int)
    for (kind, bucket), n in buckets.items():
        low = rollups.bucket_bounds(bucket)[0]
        counts[(kind, sum(1 for edge in edges if low >= edge * 3600))] += n
    labels = [f"under {edges[0]} h"]
    labels += [f"{edges[i - 1]}–{edges[i]} h" for i in range(1, len(edges))]
    labels += [f"{edges[-1]} h or more"]
    histogram = Table(
        "speed_distribution",
        "Distribution (clocks met, by business hours taken)",
        ["Hours", "Accept", "First touch"],
        [
            [
                label,
                counts.get((ClockKind.ACCEPT, i), 0),
                counts.get((ClockKind.FIRST_TOUCH, i), 0),
            ]
            for i, label in enumerate(labels)
        ],
    )
    return Report(
        "speed",
        figures,
        [summary, histogram],
        [
            chart("accept_distribution", "Time to accept", histogram, value=1, unit=""),
            chart("touch_distribution", "Time to first touch", histogram, value=2, unit=""),
        ],
    )


# --- attainment per goal ---------------------------------------------------------------


def _decided(filters: ReportFilters, by: tuple[str, ...], **where: Any) -> tuple[list, list]:
    """Clocks met on time and clocks breached, in the period (`now`) and the one before
    (`before`), grouped `by`: what every attainment figure is made of (2 queries)."""
    previous = filters.previous()
    if _by_rollup(filters):
        met = [
            {**row, **{k: row[k] or None for k in ("team_id", "owner_id") if k in row}}
            for row in _rollup(filters, previous.start, filters.end, model=OnTimeDayRollup)
            .filter(**where)
            .values(*by)
            .annotate(
                now=Coalesce(Sum("n", filter=Q(day__gte=filters.start)), 0),
                before=Coalesce(Sum("n", filter=Q(day__lt=filters.start)), 0),
            )
        ]
    else:
        met = (
            ClockDuration.objects.filter(
                _durations_q(filters, previous.start_at, filters.end_at), on_time=True, **where
            )
            .values(*by)
            .annotate(
                now=Count("clock_id", filter=Q(met_at__gte=filters.start_at)),
                before=Count("clock_id", filter=Q(met_at__lt=filters.start_at)),
            )
        )
    if _by_rollup(filters):
        breached = [
            {**row, **{k: row[k] or None for k in ("team_id", "owner_id") if k in row}}
            for row in _rollup(filters, previous.start, filters.end, model=BreachDayRollup)
            .filter(**where)
            .values(*by)
            .annotate(
                now=Coalesce(Sum("n", filter=Q(day__gte=filters.start)), 0),
                before=Coalesce(Sum("n", filter=Q(day__lt=filters.start)), 0),
            )
        ]
        return list(met), breached
    breached = (
        Clock.objects.filter(
            _clock_q(filters),
            breached_at__gte=previous.start_at,
            breached_at__lt=filters.end_at,
            **where,
        )
        .values(*by)
        .annotate(
            now=Count("id", filter=Q(breached_at__gte=filters.start_at)),
            before=Count("id", filter=Q(breached_at__lt=filters.start_at)),
        )
    )
    return list(met), list(breached)


def _rates(cell: dict[str, int]) -> tuple[float | None, float | None, float | None]:
    now_rate = rate(cell["met"], cell["met"] + cell["breached"])
    before_rate = rate(cell["met_before"], cell["met_before"] + cell["breached_before"])
    change = round(now_rate - before_rate, 1) if None not in (now_rate, before_rate) else None
    return now_rate, before_rate, change


# Long: one panel read top to bottom (its queries, then its tables and chart).
def attainment(filters: ReportFilters) -> Report:
    """Share of decided clocks met on time, per goal and kind, this period against the
    last. A clock is decided when met on time or when breached (2 queries)."""
    met, breached = _decided(filters, ("goal__label", "kind"))
    cells: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"met": 0, "met_before": 0, "breached": 0, "breached_before": 0}
    )
    for row in met:
        cell = cells[(row["goal__label"], row["kind"])]
        cell["met"] += row["now"]
        cell["met_before"] += row["before"]
    for row in breached:
        cell = cells[(row["goal__label"], row["kind"])]
        cell["breached"] += row["now"]
        cell["breached_before"] += row["before"]
    kinds = dict(ClockKind.choices)
    table = Table(
        "attainment",
        "SLA attainment per goal (share met on time)",
        [
            "Goal",
            "Deadline",
            "On time",
            "Breached",
            "Attainment %",
            "Last period %",
            "Change (pts)",
        ],
    )
    totals = {"met": 0, "met_before": 0, "breached": 0, "breached_before": 0}
    for (label, kind), cell in sorted(
        cells.items(), key=lambda kv: (kv[0][0], kv[0][1] != "accept")
    ):
        for key in totals:
            totals[key] += cell[key]
        now_rate, before_rate, change = _rates(cell)
        table.rows.append(
            [
                label,
                kinds.get(kind, kind),
                cell["met"],
                cell["breached"],
                now_rate,
                before_rate,
                change,
            ]
        )
    figures = {
        "attainment": rate(totals["met"], totals["met"] + totals["breached"]),
        "attainment_last_period": rate(
            totals["met_before"], totals["met_before"] + totals["breached_before"]
        ),
    }
    chart_table = Table(
        "attainment",
        "",
        ["Goal", "Attainment %"],
        [[f"{r[0]} · {r[1]}", r[4]] for r in table.rows],
    )
    return Report(
        "attainment",
        figures,
        [table],
        [chart("attainment", table.title, chart_table, unit="%")],
    )


# --- the agreed follow-up, and the pauses that hold it ------------------------------------
# Long: one panel read top to bottom (its queries, then its figures); its tables
# are built by _followup_table and _pause_tables.


def followup(filters: ReportFilters, teams: list[Team], *, now: datetime | None = None) -> Report:
    """Follow-up attainment per team and rep (the share of follow-up clocks met on time,
    this period against the last, as the attainment panel counts them), and the agreed
    pauses: how many, how long they held the clocks, and which hold one now, so pausing
    cannot quietly game the agreement (5 queries after the refresh)."""
    now = now or clock.now()
    met, breached = _decided(filters, ("team_id", "owner_id"), kind=ClockKind.FOLLOW_UP)
    paused = (
        Pause.objects.filter(
            _clock_q(filters), started_at__gte=filters.start_at, started_at__lt=filters.end_at
        )
        .values("team_id", "owner_id")
        .annotate(
            n=Count("*"),
            held=Sum("held_seconds"),
            open=Count("id", filter=Q(ended_at__isnull=True)),
        )
    )
    by_team: dict[int | None, dict[str, int]] = defaultdict(_followup_cell)
    by_rep: dict[tuple, dict[str, int]] = defaultdict(_followup_cell)
    for what, rows in (("met", met), ("breached", breached)):
        for row in rows:
            for cells, key in (
                (by_team, row["team_id"]),
                (by_rep, (row["owner_id"], row["team_id"])),
            ):
                cells[key][what] += row["now"]
                cells[key][f"{what}_before"] += row["before"]
    pauses_by_rep = {(r["owner_id"], r["team_id"]): r for r in paused}
    open_now = Pause.objects.filter(_clock_q(filters), ended_at__isnull=True).order_by(
        "started_at", "id"
    )
    open_rows = pauses.paused_now(
        open_now.select_related("lead", "owner", "team")[:OPEN_LIST_LIMIT], now=now
    )
    open_count = len(open_rows) if len(open_rows) < OPEN_LIST_LIMIT else open_now.count()
    names = _names({owner for owner, _ in (*by_rep, *pauses_by_rep)})
    team_names = {t.pk: t.name for t in teams}
    table, totals = _followup_table(by_team, by_rep, names, team_names)
    # Open pauses' time so far counts too: a pause never hides.
    held_open = sum(
        row.held.total_seconds() for row in open_rows if row.pause.started_at >= filters.start_at
    )
    figures = {
        "followup_attainment": _rates(totals)[0],
        "followup_attainment_last_period": _rates(totals)[1],
        "followups_on_time": totals["met"],
        "followups_breached": totals["breached"],
        "pauses": sum(r["n"] for r in pauses_by_rep.values()),
        "paused_hours": _hours(sum(r["held"] or 0 for r in pauses_by_rep.values()) + held_open),
        "paused_now": open_count,
    }
    chart_table = Table(
        "followup_attainment",
        "",
        ["Team", "Attainment %"],
        [[r[1], r[4]] for r in table.rows if r[0] == "Whole team"],
    )
    return Report(
        "followup",
        figures,
        [table, *_pause_tables(pauses_by_rep, open_rows, names, team_names)],
        [chart("followup_attainment", table.title, chart_table, unit="%")],
        extra={"paused_lead_ids": [row.pause.lead_id for row in open_rows]},
    )


def _followup_cell() -> dict[str, int]:
    return {"met": 0, "met_before": 0, "breached": 0, "breached_before": 0}


def _followup_table(by_team, by_rep, names, team_names) -> tuple[Table, dict[str, int]]:
    """Whole teams first, then each rep by team and name; and the totals of the teams."""
    table = Table(
        "followup_attainment",
        "Follow-up attainment (share of follow-ups made on time)",
        ["Who", "Team", "On time", "Breached", "Attainment %", "Last period %", "Change (pts)"],
    )
    totals = _followup_cell()
    for team_id, cell in sorted(by_team.items(), key=lambda kv: team_names.get(kv[0], "")):
        for key in totals:
            totals[key] += cell[key]
        table.rows.append(
            ["Whole team", team_names.get(team_id, "No team"), cell["met"], cell["breached"]]
            + list(_rates(cell))
        )
    for (owner_id, team_id), cell in sorted(
        by_rep.items(), key=lambda kv: (team_names.get(kv[0][1], ""), names.get(kv[0][0], ""))
    ):
        table.rows.append(
            [
                names.get(owner_id, "Unassigned"),
                team_names.get(team_id, "No team"),
                cell["met"],
                cell["breached"],
                *_rates(cell),
            ]
        )
    return table, totals


def _pause_tables(pauses_by_rep, open_rows, names, team_names) -> list[Table]:
    """The pauses started in the period per rep, and those holding a clock now."""
    started = Table(
        "pauses",
        "Agreed pauses started in the period",
        ["Rep", "Team", "Pauses", "Business hours held", "Holding now"],
        [
            [
                names.get(owner_id, "Unassigned"),
                team_names.get(team_id, "No team"),
                r["n"],
                _hours(r["held"] or 0),
                r["open"],
            ]
            for (owner_id, team_id), r in sorted(
                pauses_by_rep.items(), key=lambda kv: (-kv[1]["n"], names.get(kv[0][0], ""))
            )
        ],
    )
    now_table = Table(
        "paused_now",
        "Paused now, oldest first",
        ["Lead", "Rep", "Team", "Reason", "Note", "Since", "At most until", "Business h so far"],
        [
            [
                str(row.pause.lead),
                str(row.pause.owner) if row.pause.owner_id else "Unassigned",
                row.pause.team.name if row.pause.team_id else "",
                row.pause.reason,
                row.pause.note,
                row.pause.started_at,
                row.pause.ends_at,
                _hours(row.held.total_seconds()),
            ]
            for row in open_rows
        ],
    )
    return [started, now_table]


# --- escalations and the arbiter ----------------------------------------------------------


def _cases(filters: ReportFilters) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The cases opened in the period (escalations, disputes, still open) and those
    decided in it per decision and side: from the day rollup, by the team each case's
    lead had when it opened (1 query); from the cases and their leads now when a rep,
    source or campaign (which the rollup does not hold) is asked (2)."""
    if _by_rollup(filters) and not filters.rep_id:
        rows = CaseDayRollup.objects.filter(day__gte=filters.start, day__lte=filters.end)
        if not filters.all_teams:
            rows = rows.filter(team_id__in=filters.team_ids)
        opened = {"escalations": 0, "disputes": 0, "still_open": 0}
        per_decision: dict[tuple[str, str], int] = defaultdict(int)
        for r in rows.values("kind", "decision", "against_side").annotate(
            opened=Sum("opened"), still_open=Sum("still_open"), decided=Sum("decided")
        ):
            key = "escalations" if r["kind"] == CaseKind.ESCALATION else "disputes"
            opened[key] += r["opened"]
            opened["still_open"] += r["still_open"]
            if r["decided"]:
                per_decision[(r["decision"], r["against_side"])] += r["decided"]
        decided = [
            {"decision": decision, "against_side": side, "n": n}
            for (decision, side), n in sorted(per_decision.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        return opened, decided
    lead_q = filters.leads("lead__", explicit_teams=not filters.all_teams)
    opened = ArbiterCase.objects.filter(
        lead_q, opened_at__gte=filters.start_at, opened_at__lt=filters.end_at
    ).aggregate(
        escalations=Count("id", filter=Q(kind=CaseKind.ESCALATION)),
        disputes=Count("id", filter=Q(kind=CaseKind.DISPUTE)),
        still_open=Count("id", filter=Q(decided_at__isnull=True)),
    )
    decided = list(
        ArbiterCase.objects.filter(
            lead_q, decided_at__gte=filters.start_at, decided_at__lt=filters.end_at
        )
        .values("decision", "against_side")
        .annotate(n=Count("*"))
        .order_by("-n", "decision")
    )
    return opened, decided


def decisions(filters: ReportFilters) -> Report:
    """Escalations and disputes opened, the arbiter's decisions and which side each
    went against (1 query, 2 with a rep, source or campaign)."""
    opened, decided = _cases(filters)
    labels = dict(Decision.choices)
    by_decision = Table(
        "decisions",
        "The arbiter's decisions",
        ["Decision", "Against", "Cases"],
        [
            [labels.get(r["decision"], r["decision"]), r["against_side"] or "neither", r["n"]]
            for r in decided
        ],
    )
    sides: dict[str, int] = defaultdict(int)
    for r in decided:
        sides[r["against_side"] or "neither"] += r["n"]
    against = Table(
        "against_side",
        "Which side the decisions went against",
        ["Side", "Decisions", "%"],
        [
            [side, sides.get(side, 0), rate(sides.get(side, 0), sum(sides.values()))]
            for side in ("sales", "marketing", "neither")
        ],
    )
    return Report(
        "decisions",
        {**opened, "decided": sum(sides.values())},
        [against, by_decision],
        [chart("against_side", against.title, against, patterned=True)],
    )


# --- marketing's commitment --------------------------------------------------------------


# Long: one panel read top to bottom (its query, then its tables and chart).
def commitment(filters: ReportFilters) -> Report:
    """Marketing's monthly MQL commitment against actual, with pacing, for the months
    the period touches (1 query)."""
    first_month = filters.start.replace(day=1)
    results = list(
        CommitmentResult.objects.filter(
            team_id__in=filters.team_ids, month__gte=first_month, month__lte=filters.end
        )
        .select_related("team")
        .order_by("-month", "team__name")
    )
    table = Table(
        "commitment",
        "Marketing's commitment against actual",
        [
            "Month",
            "Team",
            "Committed MQLs",
            "Expected to date",
            "Delivered",
            "Accepted",
            "Rejected",
            "Acceptance %",
            "Agreed minimum %",
            "Pacing",
        ],
        [
            [
                f"{r.month:%Y-%m}",
                r.team.name,
                r.target_mqls,
                r.expected_to_date,
                r.delivered,
                r.accepted,
                r.rejected,
                r.acceptance_rate,
                r.target_rate,
                r.get_pacing_display() + ("" if r.is_final else " (so far)"),
            ]
            for r in results
        ],
    )
    latest = [r for r in results if r.month == results[0].month] if results else []
    delivered = sum(r.delivered for r in latest)
    target = sum(r.target_mqls for r in latest)
    figures = {
        "month": f"{latest[0].month:%Y-%m}" if latest else None,
        "delivered": delivered,
        "committed": target,
        "delivered_pct": rate(delivered, target),
        "at_risk": sum(1 for r in latest if r.pacing in (Pacing.AT_RISK, Pacing.MISSED)),
    }
    chart_table = Table(
        "commitment",
        "",
        ["Team", "% of commitment delivered"],
        [[r.team.name, rate(r.delivered, r.target_mqls) or 0] for r in latest],
    )
    return Report(
        "commitment",
        figures,
        [table],
        [chart("commitment", "Delivered, % of commitment", chart_table, unit="%")],
    )


# --- one goal for both sides: revenue against the shared target --------------------------


def target_for(day: date) -> RevenueTarget | None:
    return (
        RevenueTarget.objects.filter(period_start__lte=day, period_end__gte=day)
        .order_by("-period_start")
        .first()
    )


def revenue(filters: ReportFilters) -> Report:
    """Revenue won against the shared target whose period holds the period's end,
    counted over the target's period up to that day; each team's part as the
    revenue its leads brought (4 queries)."""
    target = target_for(filters.end)
    if target is not None:
        span = ReportFilters(
            start=target.period_start,
            end=min(target.period_end, filters.end),
            team_ids=filters.team_ids,
            rep_id=filters.rep_id,
            source=filters.source,
            campaign_id=filters.campaign_id,
            team_choice=filters.team_choice,
        )
    else:
        span = filters
    won = revenue_won(span)
    amount = target.amount if target else None
    figures = {
        "revenue": won["revenue"],
        "deals": won["deals"],
        "target": amount,
        "target_pct": rate(won["revenue"], amount) if amount else None,
        "target_start": target.period_start if target else None,
        "target_end": target.period_end if target else None,
        "marketing_sourced": won["marketing_sourced"],
        "marketing_share": won["marketing_share"],
    }
    table = Table(
        "revenue_by_team",
        "Revenue won, by the team whose leads brought it",
        ["Team", "Deals won", "Revenue", "% of target"],
        [
            [
                r["team"],
                r["deals"],
                r["revenue"],
                rate(r["revenue"], amount) if amount else None,
            ]
            for r in won["per_team"]
        ],
    )
    chart_rows = [[r[0], r[2]] for r in table.rows]
    if amount:
        chart_rows.append(["Target", amount])
    chart_table = Table("revenue_by_team", "", ["Team", "Revenue"], chart_rows)
    return Report(
        "revenue",
        figures,
        [table],
        [chart("revenue", "Revenue won against the target", chart_table, patterned=True)],
        extra={"target": target, "period_start": span.start, "period_end": span.end},
    )


# --- what the review's agenda is drawn from ---------------------------------------------


def open_disputes(filters: ReportFilters, limit: int = 5) -> tuple[int, list[Dispute]]:
    disputes = Dispute.objects.filter(
        filters.leads("lead__", explicit_teams=not filters.all_teams), status=DisputeStatus.OPEN
    )
    return disputes.count(), list(
        disputes.select_related("lead", "raised_by").order_by("created_at")[:limit]
    )


def money(value: Decimal | None) -> str:
    return "–" if value is None else f"{value:,.0f}"
