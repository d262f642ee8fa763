"""The leads' day rollup (LeadDayRollup), kept current as leads move: what the funnel,
handoff quality, scoring and revenue panels sum instead of reading every lead.

A lead counts in a few rows, one per basis it has a day for (handed off, created
and scored, won, rejected), each keyed by its team, rep, source, campaign and
definition version (and score, or where it is now) and written twice: per rep,
source and campaign, and summed over what the unfiltered panels do not group by.
When the machine writes a lead's events (leads.machine.write, for one lead or a
batch) the rows it counted under as it was read are taken off and the rows it
counts under now are added, in one upsert, in the same transaction; a rejection
event adds its own row (the Pareto counts rejections, not rejected leads). Never
written on a read; `manage.py rollup_leads` rebuilds it (after a bulk load
written straight into the tables, or an upgrade).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q

from leads.models import (
    ROLLED_UP_FIELDS,
    Dispute,
    Lead,
    LeadDayRollup,
    LeadEvent,
    RollupBasis,
)
from leads.stages import Action, Stage

log = logging.getLogger(__name__)

KEY = (
    "basis", "day", "detail", "team_id", "owner_id", "source", "campaign_id", "version_id",
    "score", "stage", "reason",
)  # fmt: skip
COUNTS = (
    "n", "accepted", "rejected", "decided", "qualified", "converted", "reached_sql", "won",
    "lost", "no_decision", "disputes", "amount",
)  # fmt: skip
# What a summed row (detail false) keeps besides its day and team: what the panels
# group by. The rest (rep, source, campaign, ...) is read from the detail rows.
KEPT = {
    RollupBasis.HANDED: ("source", "campaign_id", "version_id"),
    RollupBasis.CREATED: ("version_id", "score"),
    RollupBasis.WON: ("campaign_id",),
    RollupBasis.REJECTED: ("stage",),
    RollupBasis.REJECTION: ("reason",),
}
NONE = {"owner_id": 0, "source": "", "campaign_id": 0, "version_id": 0, "score": -1,
        "stage": "", "reason": ""}  # fmt: skip
REACHED_SQL_STAGES = (Stage.SQL, Stage.OPPORTUNITY, Stage.WON)

Row = tuple[tuple, dict[str, Any]]


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def facts(lead: Lead) -> dict[str, Any]:
    return {name: lead.__dict__.get(name) for name in ROLLED_UP_FIELDS}


def _rows(f: dict[str, Any], *, disputes: int = 0) -> list[Row]:
    """The rows a lead with these facts counts in (detail rows): none once it is merged
    into another (the kept lead counts for both, as the live leads do)."""
    if f["stage"] == Stage.MERGED:
        return []
    dims = {
        "team_id": f["team_id"] or 0,
        "owner_id": f["owner_id"] or 0,
        "source": f["source"] or "",
        "campaign_id": f["campaign_id"] or 0,
        "version_id": f["definition_version_id"] or 0,
    }
    won = f["stage"] == Stage.WON
    amount = (f["amount"] or Decimal("0")) if won else Decimal("0")
    reached_sql = f["qualified_at"] is not None or f["stage"] in REACHED_SQL_STAGES
    rows: list[Row] = []
    if f["handed_off_at"] is not None:
        decided = f["accepted_at"] is not None or f["rejected_at"] is not None
        rows.append(
            (
                (RollupBasis.HANDED, _day(f["handed_off_at"]), dims),
                {
                    "n": 1,
                    "accepted": int(f["accepted_at"] is not None),
                    "rejected": int(f["rejected_at"] is not None),
                    "decided": int(decided),
                    "qualified": int(f["qualified_at"] is not None),
                    "converted": int(f["converted_at"] is not None),
                    "won": int(won),
                    "lost": int(f["stage"] == Stage.LOST),
                    "no_decision": int(f["stage"] == Stage.NO_DECISION),
                    "amount": amount,
                },
            )
        )
    if f["score"] is not None and f["definition_version_id"] and f["created_at"] is not None:
        rows.append(
            (
                (RollupBasis.CREATED, _day(f["created_at"]), {**dims, "score": f["score"]}),
                {"n": 1, "reached_sql": int(reached_sql), "won": int(won)},
            )
        )
    if won and f["closed_at"] is not None:
        rows.append(((RollupBasis.WON, _day(f["closed_at"]), dims), {"n": 1, "amount": amount}))
    if f["rejected_at"] is not None:
        rows.append(
            (
                (RollupBasis.REJECTED, _day(f["rejected_at"]), {**dims, "stage": f["stage"]}),
                {"n": 1, "disputes": disputes},
            )
        )
    return rows


def _keyed(rows: Iterable[Row]) -> Iterable[tuple[tuple, dict[str, Any]]]:
    """Each row as its full key twice: in detail, and summed over what the basis drops."""
    for (basis, day, dims), counts in rows:
        full = {**NONE, "version_id": 0, **dims}
        summed = {k: (v if k in ("team_id", *KEPT[basis]) else NONE[k]) for k, v in full.items()}
        for detail, values in ((True, full), (False, summed)):
            yield (basis, day, detail, *(values[k] for k in KEY[3:])), counts


class _Delta:
    def __init__(self) -> None:
        self.cells: dict[tuple, dict[str, Any]] = defaultdict(dict)

    def add(self, rows: Iterable[Row], sign: int) -> None:
        for key, counts in _keyed(rows):
            cell = self.cells[key]
            for name, value in counts.items():
                cell[name] = cell.get(name, 0) + sign * value

    def nonzero(self) -> list[tuple[tuple, dict[str, Any]]]:
        return sorted(
            ((k, c) for k, c in self.cells.items() if any(c.values())),
            key=lambda kc: tuple(str(v) for v in kc[0]),
        )


def _reason(event: LeadEvent) -> str:
    data = event.data or {}
    label = data.get("reason_label")
    if label is None:
        label = data.get("reason")
    return "" if label is None else str(label)[:200]


def record(events: list[LeadEvent]) -> None:
    """Keep the rollup for the leads these events (just written) moved. Call it in
    their transaction; the leads are the events' cached ones, as they are now."""
    leads: dict[int, Lead] = {}
    births: set[int] = set()
    for event in events:
        leads.setdefault(id(event.lead), event.lead)
        if event.kind in (Action.INGEST, Action.IMPORT_HISTORY):
            births.add(id(event.lead))
    delta = _Delta()
    _moved(delta, [(lead, key in births) for key, lead in leads.items()])
    for event in events:
        _event_rows(delta, event)
    _upsert(delta.nonzero())


def record_leads(leads: list[Lead]) -> None:
    """Keep the rollup for leads changed without an event (a queued lead routed to
    a team's queue): the same as record(), for saved leads read whole."""
    delta = _Delta()
    _moved(delta, [(lead, False) for lead in leads])
    _upsert(delta.nonzero())


def _moved(delta: _Delta, leads: list[tuple[Lead, bool]]) -> None:
    moved = []
    for lead, born in leads:
        before = getattr(lead, "_rolled_up", None)
        if before is None and not born:
            log.warning("lead %s was not read whole: its rollup is read again", lead.pk)
            before = _read_before(lead)
        after = facts(lead)
        if before != after:
            moved.append((lead, before, after))
        lead._rolled_up = after
    disputes = _disputes(
        [lead.pk for lead, b, a in moved if (b and b["rejected_at"]) or a["rejected_at"]]
    )
    for lead, before, after in moved:
        if before is not None:
            delta.add(_rows(before, disputes=disputes.get(lead.pk, 0)), -1)
        delta.add(_rows(after, disputes=disputes.get(lead.pk, 0)), 1)


def _event_rows(delta: _Delta, event: LeadEvent) -> None:
    """A rejection counts for its reason; a dispute for the rejected lead it is about."""
    lead = event.lead
    if event.kind == Action.REJECT:
        dims = {
            "team_id": lead.team_id or 0,
            "owner_id": event.actor_id or 0,
            "source": lead.source or "",
            "campaign_id": lead.campaign_id or 0,
            "reason": _reason(event),
        }
        delta.add([((RollupBasis.REJECTION, _day(event.occurred_at), dims), {"n": 1})], 1)
    elif event.kind == Action.DISPUTE and lead.rejected_at is not None:
        rejected = [r for r in _rows(facts(lead)) if r[0][0] == RollupBasis.REJECTED]
        delta.add([(key, {"disputes": 1}) for key, _ in rejected], 1)


def _read_before(lead: Lead) -> dict[str, Any] | None:
    # Only if the caller read the lead in part: the row may hold this batch's write
    # already, so a warning says the rollup may need `manage.py rollup_leads`.
    return Lead.objects.filter(pk=lead.pk).values(*ROLLED_UP_FIELDS).first()


def _disputes(lead_ids: list[int]) -> dict[int, int]:
    if not lead_ids:
        return {}
    rows = Dispute.objects.filter(lead_id__in=lead_ids).values("lead_id").annotate(n=Count("id"))
    return {r["lead_id"]: r["n"] for r in rows.order_by()}


def _upsert(cells: list[tuple[tuple, dict[str, Any]]]) -> None:
    if not cells:
        return
    table = LeadDayRollup._meta.db_table
    key = ", ".join(KEY)
    columns = ", ".join(COUNTS)
    one = "(" + ", ".join(["%s"] * (len(KEY) + len(COUNTS))) + ")"
    params = [v for k, c in cells for v in (*k, *(c.get(name, 0) for name in COUNTS))]
    adds = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in COUNTS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key}, {columns}) VALUES {', '.join([one] * len(cells))} "  # noqa: S608 - fixed names
            f"ON CONFLICT ({key}) DO UPDATE SET {adds}",
            params,
        )


# -- reading ---------------------------------------------------------------------------


def needs_detail(filters) -> bool:
    """The summed rows answer a team's (or every team's) view; a rep, source or
    campaign filter reads the detail rows."""
    return bool(filters.rep_id or filters.source or filters.campaign_id)


def rows_for(filters, basis: str, *, explicit_teams: bool = False):
    """The rollup rows of this basis in the filters' period (a queryset to aggregate)."""
    return LeadDayRollup.objects.filter(
        filters.leads(explicit_teams=explicit_teams),
        basis=basis,
        detail=needs_detail(filters),
        day__gte=filters.start,
        day__lte=filters.end,
    )


def positive(queryset, count: str):
    """Groups that hold something (a lead that moved leaves a zero row behind):
    `count` names the group's annotated count of leads."""
    return queryset.filter(Q(**{f"{count}__gt": 0}))


# -- rebuilding ------------------------------------------------------------------------


def _sql_day(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} AT TIME ZONE 'UTC')::date"
    return f"date({column})"


def _sql_reason() -> str:
    if connection.vendor == "postgresql":
        return "LEFT(COALESCE(e.data->>'reason_label', e.data->>'reason', ''), 200)"
    return (
        "substr(COALESCE(json_extract(e.data, '$.reason_label'), "
        "json_extract(e.data, '$.reason'), ''), 1, 200)"
    )


def _flag(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


# Long: one declaration (a table of SQL fragments per basis), not logic.
def _bases() -> dict[str, dict[str, Any]]:
    """Per basis: its rows' source, filter, day, dimensions and counts, as SQL."""
    dims = {
        "team_id": "COALESCE(l.team_id, 0)",
        "owner_id": "COALESCE(l.owner_id, 0)",
        "source": "l.source",
        "campaign_id": "COALESCE(l.campaign_id, 0)",
        "version_id": "COALESCE(l.definition_version_id, 0)",
    }
    won_amount = "SUM(CASE WHEN l.stage = 'won' THEN COALESCE(l.amount, 0) ELSE 0 END)"
    reached = "l.qualified_at IS NOT NULL OR l.stage IN ('sql', 'opportunity', 'won')"
    dispute, events = Dispute._meta.db_table, LeadEvent._meta.db_table
    disputes = f"SUM((SELECT COUNT(*) FROM {dispute} d WHERE d.lead_id = l.id))"  # noqa: S608
    return {
        RollupBasis.HANDED: {
            "where": "l.handed_off_at IS NOT NULL",
            "day": _sql_day("l.handed_off_at"),
            "dims": dims,
            "counts": {
                "n": "COUNT(*)",
                "accepted": _flag("l.accepted_at IS NOT NULL"),
                "rejected": _flag("l.rejected_at IS NOT NULL"),
                "decided": _flag("l.accepted_at IS NOT NULL OR l.rejected_at IS NOT NULL"),
                "qualified": _flag("l.qualified_at IS NOT NULL"),
                "converted": _flag("l.converted_at IS NOT NULL"),
                "won": _flag("l.stage = 'won'"),
                "lost": _flag("l.stage = 'lost'"),
                "no_decision": _flag("l.stage = 'no_decision'"),
                "amount": won_amount,
            },
        },
        RollupBasis.CREATED: {
            "where": "l.score IS NOT NULL AND l.definition_version_id IS NOT NULL",
            "day": _sql_day("l.created_at"),
            "dims": {**dims, "score": "l.score"},
            "counts": {
                "n": "COUNT(*)",
                "reached_sql": _flag(reached),
                "won": _flag("l.stage = 'won'"),
            },
        },
        RollupBasis.WON: {
            "where": "l.stage = 'won' AND l.closed_at IS NOT NULL",
            "day": _sql_day("l.closed_at"),
            "dims": dims,
            "counts": {"n": "COUNT(*)", "amount": won_amount},
        },
        RollupBasis.REJECTED: {
            "where": "l.rejected_at IS NOT NULL",
            "day": _sql_day("l.rejected_at"),
            "dims": {**dims, "stage": "l.stage"},
            "counts": {"n": "COUNT(*)", "disputes": disputes},
        },
        RollupBasis.REJECTION: {
            # The events read (never written here): the tables by their models' names.
            "from": f"{events} e JOIN {Lead._meta.db_table} l ON l.id = e.lead_id",
            "where": f"e.kind = '{Action.REJECT.value}'",
            "day": _sql_day("e.occurred_at"),
            "dims": {
                **{k: v for k, v in dims.items() if k != "version_id"},
                "owner_id": "COALESCE(e.actor_id, 0)",
                "reason": _sql_reason(),
            },
            "counts": {"n": "COUNT(*)"},
        },
    }


def _rebuild_sql(basis: str, spec: dict[str, Any], detail: bool) -> str:
    dims = {**{k: f"{v!r}" if isinstance(v, str) else str(v) for k, v in NONE.items()}}
    dims["source"] = dims["stage"] = dims["reason"] = "''"
    for name, expression in spec["dims"].items():
        if detail or name in ("team_id", *KEPT[basis]):
            dims[name] = expression
    grouped = [dims[k] for k in KEY[3:] if not dims[k].lstrip("-").isdigit() and dims[k] != "''"]
    table = LeadDayRollup._meta.db_table
    counts = ", ".join(spec["counts"].get(c, "0") for c in COUNTS)
    flag = "TRUE" if detail else "FALSE"
    if connection.vendor != "postgresql":
        flag = "1" if detail else "0"
    where = spec["where"]
    if basis != RollupBasis.REJECTION:  # a merged lead counts nowhere (_rows); its events do
        where += f" AND l.stage <> '{Stage.MERGED.value}'"
    return (
        f"INSERT INTO {table} ({', '.join(KEY)}, {', '.join(COUNTS)}) "  # noqa: S608 - fixed names
        f"SELECT '{basis}', {spec['day']}, {flag}, {', '.join(dims[k] for k in KEY[3:])}, {counts} "
        f"FROM {spec.get('from', Lead._meta.db_table + ' l')} WHERE {where} "
        f"GROUP BY {', '.join([spec['day'], *grouped])}"
    )


def rebuild() -> int:
    """The rollup again from every lead and rejection event, in one transaction.
    Writers wait for it (the table is locked), so none is counted twice or lost."""
    table = LeadDayRollup._meta.db_table
    total = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - the model's name
        for basis, spec in _bases().items():
            for detail in (True, False):
                cursor.execute(_rebuild_sql(basis, spec, detail))
                total += cursor.rowcount
    return total
