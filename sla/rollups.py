"""The dashboard's rollups, kept current as clocks are met or breached: one
ClockDuration per met clock (its business time, worked out once on the team's
calendar) and the day's ClockDayRollup counts (with SpeedDayRollup, the same summed
over goal and on time, and OnTimeDayRollup, its clocks met on time summed over the
bucket), written in the same transaction as the met event; the day's
BreachDayRollup counts, written with the breaches (one upsert per scan batch); the
day's CaseDayRollup counts, written where arbiter cases open and are decided;
never on a read. (Open breaches now are counted by PostgreSQL's triggers on the
clocks: OpenBreachCount.)

The histogram's buckets: 10 minutes wide under ten hours, then 50 per doubling
(10-20 h by 12 minutes, 20-40 h by 24 minutes, ...), so every edge the speed
panel's distribution shows (1, 2, 4, 8, 16, 24 h) is a bucket edge and its counts
are exact. A percentile read from the buckets takes the midpoint of the bucket its
rank falls in: within 5 minutes under ten hours, within 1% above (a bucket is at
most 2% of its lower edge wide), interpolated between ranks as percentile_cont.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, timedelta

from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef

from alignment.bulk import insert_rows
from sla.calendars import business_time_between
from sla.models import (
    BreachDayRollup,
    CaseDayRollup,
    ClockDayRollup,
    ClockDuration,
    ClockEvent,
    ClockEventKind,
    OnTimeDayRollup,
    SpeedDayRollup,
)
from sla.selectors import calendars_for_teams, default_spec

FINE_SECONDS = 600
FINE_UP_TO = 36_000  # ten hours
PER_DOUBLING = 50
DOUBLINGS = 11  # up to 10 h x 2**11, about 853 days: longer counts in the last bucket
LAST_BUCKET = FINE_UP_TO // FINE_SECONDS + PER_DOUBLING * DOUBLINGS - 1
# Events up to this long before the newest duration are looked at again by the
# catch-up: a met event is recorded a moment after the time it carries.
CATCH_UP_OVERLAP = timedelta(days=1)
CATCH_UP_BATCH = 5000
MET_KINDS = (ClockEventKind.MET, ClockEventKind.MET_LATE)


def bucket_of(seconds: int) -> int:
    if seconds < FINE_UP_TO:
        return max(seconds, 0) // FINE_SECONDS
    doubling = min((seconds // FINE_UP_TO).bit_length() - 1, DOUBLINGS - 1)
    low = FINE_UP_TO << doubling
    index = (seconds - low) * PER_DOUBLING // low
    return min(FINE_UP_TO // FINE_SECONDS + PER_DOUBLING * doubling + index, LAST_BUCKET)


def bucket_bounds(bucket: int) -> tuple[int, int]:
    """[low, high) in seconds."""
    fine = FINE_UP_TO // FINE_SECONDS
    if bucket < fine:
        return bucket * FINE_SECONDS, (bucket + 1) * FINE_SECONDS
    doubling, index = divmod(bucket - fine, PER_DOUBLING)
    low = FINE_UP_TO << doubling
    width = low // PER_DOUBLING
    return low + index * width, low + (index + 1) * width


def histogram_percentile(counts: dict[int, int], fraction: float) -> float | None:
    """percentile_cont over the buckets, each rank at its bucket's midpoint."""
    total = sum(counts.values())
    if not total:
        return None
    position = fraction * (total - 1)
    low_rank = int(position)
    high_rank = min(low_rank + 1, total - 1)
    values = {}
    seen = 0
    for bucket in sorted(counts):
        n = counts[bucket]
        for rank in (low_rank, high_rank):
            if rank not in values and seen <= rank < seen + n:
                low, high = bucket_bounds(bucket)
                values[rank] = (low + high) / 2
        seen += n
        if high_rank in values:
            break
    return values[low_rank] + (values[high_rank] - values[low_rank]) * (position - low_rank)


def _duration(event: ClockEvent, specs, lead) -> ClockDuration:
    c = event.clock
    spec = specs.get(c.team_id) or default_spec("UTC")
    end = max(event.occurred_at, c.started_at)
    return ClockDuration(
        clock_id=c.pk,
        kind=c.kind,
        team_id=c.team_id,
        owner_id=c.owner_id,
        goal_id=c.goal_id,
        source=lead.source,
        campaign_id=lead.campaign_id,
        started_at=c.started_at,
        met_at=event.occurred_at,
        due_at=c.due_at,
        on_time=event.kind == ClockEventKind.MET,
        business_seconds=int(business_time_between(spec, c.started_at, end).total_seconds()),
    )


def record_met(events: Iterable[ClockEvent], *, leads: dict | None = None) -> int:
    """Keep the durations and the day's rollup for the clocks these events met (other
    events are skipped). Call it in the transaction that writes the events; `leads`
    (by id) saves reading them. A clock already kept is not counted again."""
    met = [e for e in events if e.kind in MET_KINDS]
    if not met:
        return 0
    leads = dict(leads or {})
    missing = {e.lead_id for e in met} - set(leads)
    if missing:
        from leads.models import Lead

        leads.update(Lead.objects.in_bulk(missing))
    specs = calendars_for_teams({e.clock.team_id for e in met if e.clock.team_id})
    made: dict[int, ClockDuration] = {}
    for event in met:
        made.setdefault(event.clock_id, _duration(event, specs, leads[event.lead_id]))
    kept = list(made.values())
    if connection.vendor == "postgresql":
        # Only the rows this statement inserted are counted, so a catch-up racing the
        # engine never counts a clock twice.
        fields = [f.attname for f in ClockDuration._meta.concrete_fields]
        rows = [tuple(getattr(d, f) for f in fields) for d in kept]
        fresh = {
            row[0]
            for row in insert_rows(
                ClockDuration, fields, rows, ignore_conflicts=True, returning=("clock_id",)
            )
        }
        kept = [d for d in kept if d.clock_id in fresh]
    else:
        ClockDuration.objects.bulk_create(kept, ignore_conflicts=True)
    _add_to_rollup(kept)
    return len(kept)


def _add_to_rollup(durations: Iterable[ClockDuration]) -> None:
    counts = Counter(
        (
            d.met_at.date(),
            d.team_id or 0,
            d.kind,
            d.owner_id or 0,
            d.goal_id,
            d.on_time,
            bucket_of(d.business_seconds),
        )
        for d in durations
    )
    if not counts:
        return
    speed: Counter = Counter()
    on_time: Counter = Counter()
    for (day, team, kind, owner, goal, met_on_time, bucket), n in counts.items():
        speed[(day, team, kind, owner, bucket)] += n
        if met_on_time:
            on_time[(day, team, owner, goal, kind)] += n
    statements = [
        _upsert_sql(
            ClockDayRollup, "day, team_id, kind, owner_id, goal_id, on_time, bucket", counts
        ),
        _upsert_sql(SpeedDayRollup, "day, team_id, kind, owner_id, bucket", speed),
    ]
    if on_time:
        statements.append(
            _upsert_sql(OnTimeDayRollup, "day, team_id, owner_id, goal_id, kind", on_time)
        )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Every rollup in one statement (a data-modifying WITH): no round trip more.
            *first, (last, params) = statements
            steps = ", ".join(f"step{i} AS ({sql})" for i, (sql, _) in enumerate(first))
            before = [v for _, values in first for v in values]
            cursor.execute(f"WITH {steps} {last}", [*before, *params])
        else:
            for sql, params in statements:
                cursor.execute(sql, params)


def _upsert_sql(model, key: str, counts: Counter) -> tuple[str, list]:
    """Add `counts` (key tuple: n) to a rollup's n: the statement and its parameters."""
    table = model._meta.db_table
    rows = sorted(counts.items())  # one order for every writer: no deadlock between two
    one = "(" + ", ".join(["%s"] * (key.count(",") + 2)) + ")"
    return (
        f"INSERT INTO {table} ({key}, n) VALUES {', '.join([one] * len(rows))} "  # noqa: S608 - fixed names
        f"ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + excluded.n",
        [v for k, n in rows for v in (*k, n)],
    )


def catch_up(*, batch: int = CATCH_UP_BATCH) -> int:
    """Keep the clocks met without their duration (met before the rollup existed, or
    written by hand): reads the met events after the newest duration kept (less an
    overlap), so it costs what happened since. Returns how many were added."""
    newest = ClockDuration.objects.aggregate(m=Max("met_at"))["m"]
    events = ClockEvent.objects.filter(kind__in=MET_KINDS)
    if newest is not None:
        events = events.filter(occurred_at__gte=newest - CATCH_UP_OVERLAP)
    rows = list(
        events.exclude(Exists(ClockDuration.objects.filter(clock_id=OuterRef("clock_id"))))
        .select_related("clock", "lead")
        .order_by("occurred_at", "id")[:batch]
    )
    return record_met(rows, leads={e.lead_id: e.lead for e in rows})


def bucket_sql(column: str) -> str:
    """bucket_of as a SQL expression over an integer column (a CASE of constants)."""
    fine = FINE_UP_TO // FINE_SECONDS
    branches = []
    for doubling in reversed(range(DOUBLINGS)):
        low = FINE_UP_TO << doubling
        first = fine + PER_DOUBLING * doubling
        branches.append(
            f"WHEN {column} >= {low} THEN "
            f"LEAST({first} + ({column}::bigint - {low}) * {PER_DOUBLING} / {low}, {LAST_BUCKET})"
        )
    return f"CASE {' '.join(branches)} ELSE GREATEST({column}, 0) / {FINE_SECONDS} END"


def rebuild() -> int:
    """The day rollup again from every duration kept, in one statement (PostgreSQL):
    after an upgrade, or a bulk load written straight into the durations. Writers
    wait for it (the table is locked), so none is counted twice or lost."""
    rollup = ClockDayRollup._meta.db_table
    speed = SpeedDayRollup._meta.db_table
    on_time = OnTimeDayRollup._meta.db_table
    durations = ClockDuration._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"LOCK TABLE {rollup}, {speed}, {on_time}, {durations} IN SHARE ROW EXCLUSIVE MODE"
        )
        for table in (rollup, speed, on_time):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - names from the models
        cursor.execute(
            f"INSERT INTO {rollup} (day, team_id, kind, owner_id, goal_id, on_time, bucket, n) "  # noqa: S608
            "SELECT (met_at AT TIME ZONE 'UTC')::date, COALESCE(team_id, 0), kind, "
            f"COALESCE(owner_id, 0), goal_id, on_time, {bucket_sql('business_seconds')}, COUNT(*) "
            f"FROM {durations} GROUP BY 1, 2, 3, 4, 5, 6, 7"
        )
        rebuilt = cursor.rowcount
        cursor.execute(
            f"INSERT INTO {speed} (day, team_id, kind, owner_id, bucket, n) "  # noqa: S608
            f"SELECT day, team_id, kind, owner_id, bucket, SUM(n) FROM {rollup} "
            "GROUP BY 1, 2, 3, 4, 5"
        )
        cursor.execute(
            f"INSERT INTO {on_time} (day, team_id, owner_id, goal_id, kind, n) "  # noqa: S608
            f"SELECT day, team_id, owner_id, goal_id, kind, SUM(n) FROM {rollup} "
            "WHERE on_time GROUP BY 1, 2, 3, 4, 5"
        )
        return rebuilt


# -- breaches ----------------------------------------------------------------------------


def record_breaches(breaches: Iterable[tuple]) -> None:
    """Count these breaches, each (breached_at, team_id, owner_id, goal_id, kind), in the
    day's rollup: one upsert, in the transaction that records them."""
    counts = Counter(
        ((at.astimezone(UTC).date(), team or 0, owner or 0, goal, kind))
        for at, team, owner, goal, kind in breaches
    )
    if not counts:
        return
    table = BreachDayRollup._meta.db_table
    key = "day, team_id, owner_id, goal_id, kind"
    rows = sorted(counts.items())  # one order for every writer: no deadlock between two
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key}, n) VALUES {values} "  # noqa: S608 - fixed names
            f"ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + excluded.n",
            [v for k, n in rows for v in (*k, n)],
        )


def record_breach_events(events: Iterable[ClockEvent]) -> None:
    """The breaches among these clock events (their clocks as the events carry them)."""
    record_breaches(
        (e.occurred_at, e.clock.team_id, e.clock.owner_id, e.clock.goal_id, e.clock.kind)
        for e in events
        if e.kind == ClockEventKind.BREACHED
    )


def rebuild_breaches() -> int:
    """The breach rollup again from every breached clock, in one statement."""
    from sla.models import Clock

    table = BreachDayRollup._meta.db_table
    clocks = Clock._meta.db_table
    day = (
        "(breached_at AT TIME ZONE 'UTC')::date"
        if connection.vendor == "postgresql"
        else "date(breached_at)"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - names from the models
        cursor.execute(
            f"INSERT INTO {table} (day, team_id, owner_id, goal_id, kind, n) "  # noqa: S608
            f"SELECT {day}, COALESCE(team_id, 0), COALESCE(owner_id, 0), goal_id, kind, "
            f"COUNT(*) FROM {clocks} WHERE breached_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
        )
        return cursor.rowcount


# -- arbiter cases -----------------------------------------------------------------------

CASE_KEY = ("day", "team_id", "kind", "decision", "against_side")
CASE_COUNTS = ("opened", "still_open", "decided")


def _add_to_case_rollup(cells: Counter) -> None:
    """Add to the case rollup: `cells` maps (key, count's name) to what it adds."""
    rows: dict[tuple, dict[str, int]] = {}
    for (key, name), n in cells.items():
        if n:
            rows.setdefault(key, dict.fromkeys(CASE_COUNTS, 0))[name] += n
    if not rows:
        return
    table = CaseDayRollup._meta.db_table
    key = ", ".join(CASE_KEY)
    one = "(" + ", ".join(["%s"] * (len(CASE_KEY) + len(CASE_COUNTS))) + ")"
    adds = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in CASE_COUNTS)
    ordered = sorted(rows.items())  # one order for every writer: no deadlock between two
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key}, {', '.join(CASE_COUNTS)}) "  # noqa: S608 - fixed names
            f"VALUES {', '.join([one] * len(ordered))} ON CONFLICT ({key}) DO UPDATE SET {adds}",
            [v for k, counts in ordered for v in (*k, *(counts[c] for c in CASE_COUNTS))],
        )


def _opened_key(opened_at, team_id, kind) -> tuple:
    return (opened_at.astimezone(UTC).date(), team_id or 0, kind, "", "")


def record_cases_opened(cases: Iterable[tuple]) -> None:
    """Count these new cases, each (opened_at, team_id, kind), on the day they opened
    (one upsert): call it in the transaction that creates them, for the ones it created."""
    cells: Counter = Counter()
    for opened_at, team_id, kind in cases:
        key = _opened_key(opened_at, team_id, kind)
        cells[(key, "opened")] += 1
        cells[(key, "still_open")] += 1
    _add_to_case_rollup(cells)


def record_case_decided(
    *, opened_at, team_id, kind: str, decided_at, decision: str, against_side: str
) -> None:
    """A case just decided (its claim changed one row): no longer open on the day it
    opened, decided on this day. In the transaction of the claim."""
    cells: Counter = Counter()
    cells[(_opened_key(opened_at, team_id, kind), "still_open")] -= 1
    day = decided_at.astimezone(UTC).date()
    cells[((day, team_id or 0, kind, decision, against_side or ""), "decided")] += 1
    _add_to_case_rollup(cells)


def rebuild_cases() -> int:
    """The case rollup again from every arbiter case, in one transaction. Writers wait
    for it (both tables are locked), so none is counted twice or lost."""
    from sla.models import ArbiterCase

    table = CaseDayRollup._meta.db_table
    cases = ArbiterCase._meta.db_table

    def day(column: str) -> str:
        if connection.vendor == "postgresql":
            return f"({column} AT TIME ZONE 'UTC')::date"
        return f"date({column})"

    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {table}, {cases} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - names from the models
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(CASE_KEY)}, {', '.join(CASE_COUNTS)}) "  # noqa: S608
            "SELECT day, team_id, kind, decision, against_side, SUM(opened), SUM(still_open), "
            "SUM(decided) FROM ("
            f"SELECT {day('opened_at')} AS day, COALESCE(team_id, 0) AS team_id, kind, "
            "'' AS decision, '' AS against_side, COUNT(*) AS opened, "
            "SUM(CASE WHEN decided_at IS NULL THEN 1 ELSE 0 END) AS still_open, 0 AS decided "
            f"FROM {cases} GROUP BY 1, 2, 3 "
            f"UNION ALL SELECT {day('decided_at')}, COALESCE(team_id, 0), kind, decision, "
            f"against_side, 0, 0, COUNT(*) FROM {cases} WHERE decided_at IS NOT NULL "
            "GROUP BY 1, 2, 3, 4, 5) AS cells GROUP BY 1, 2, 3, 4, 5"
        )
        return cursor.rowcount
