"""Reads for the manager's reports: funnel and outcomes, handoff quality, scoring.

Every report is one small, bounded set of aggregate queries (the figures are
computed in the database, never by walking leads in Python) and returns a
`Report`: its headline figures and its tables. Charts are drawn from the
tables (every chart has its table), the CSV export writes the same tables and
the JSON API returns them, so the three never disagree.

The filters and the table/chart kit live here because both leads and sla
(which reads leads) draw their panels with them; leads imports nothing of sla.

Cohorts: the funnel and handoff quality follow the leads *handed off* in the
period (a lead's story is told from its handoff, whenever it later closes);
revenue counts the deals *won* in the period; scoring reads every scored lead
created in the period, history included.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import BadRequest, ValidationError
from django.db.models import Count, Q, QuerySet, Sum

from alignment import clock
from alignment.inputs import query_date
from alignment.models import Side, Team, User
from alignment.roles import perm
from leads.machine import Stage
from leads.models import Campaign, Lead
from leads.selectors import lead_sources

DEFAULT_DAYS = 30
MAX_DAYS = 731
# Every stage listed explicitly: with `stage IN (...)` PostgreSQL walks the
# (team, stage, handed_off_at) index as a few range scans instead of reading
# every lead of the team.
ALL_STAGES = tuple(Stage.values)


# --- filters -------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilters:
    """Period (inclusive dates, UTC days), teams, rep, source, campaign."""

    start: date
    end: date
    team_ids: tuple[int, ...] = ()
    rep_id: int | None = None
    source: str = ""
    campaign_id: int | None = None
    # "all" when the person compares every team, else the one team's id.
    team_choice: str = "all"

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> ReportFilters:
        """The period of the same length just before this one."""
        length = timedelta(days=self.days)
        return ReportFilters(
            start=self.start - length,
            end=self.start - timedelta(days=1),
            team_ids=self.team_ids,
            rep_id=self.rep_id,
            source=self.source,
            campaign_id=self.campaign_id,
            team_choice=self.team_choice,
        )

    def as_query(self) -> dict[str, str]:
        query = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "team": self.team_choice,
        }
        if self.rep_id:
            query["rep"] = str(self.rep_id)
        if self.source:
            query["source"] = self.source
        if self.campaign_id:
            query["campaign"] = str(self.campaign_id)
        return query

    @property
    def all_teams(self) -> bool:
        return self.team_choice == "all"

    def leads(self, prefix: str = "", *, explicit_teams: bool = False) -> Q:
        """The lead conditions (team, rep, source, campaign) as a Q, optionally prefixed.

        "All teams" adds no team condition (imported history has no team) unless
        `explicit_teams`: then it lists them, so an index led by team serves it.
        """
        q = Q()
        if self.team_ids and (explicit_teams or not self.all_teams):
            q &= Q(**{f"{prefix}team_id__in": self.team_ids})
        if self.rep_id:
            q &= Q(**{f"{prefix}owner_id": self.rep_id})
        if self.source:
            q &= Q(**{f"{prefix}source": self.source})
        if self.campaign_id:
            q &= Q(**{f"{prefix}campaign_id": self.campaign_id})
        return q


class FilterError(BadRequest, ValueError):
    """A filter value that cannot be read: a 400, also from a view that does not catch it."""


def sales_teams() -> list[Team]:
    return list(Team.objects.filter(side=Side.SALES).order_by("name"))


def _date(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return query_date(value, name="date")
    except ValidationError as exc:
        raise FilterError(f"{value!r}: {exc.message_dict['date'][0]}") from exc


def _int(value: str | None) -> int | None:
    if value in (None, "", "all"):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise FilterError(f"{value!r} is not a number.") from exc


def default_team_for(user: User, teams: list[Team]) -> Team | None:
    """A sales manager sees their own team first; everyone else starts with all teams.

    `teams` are the sales teams (already read): no query for the user's team.
    """
    return next((team for team in teams if team.pk == getattr(user, "team_id", None)), None)


def parse_filters(params, *, user: User, teams: list[Team], today: date | None = None):
    """Filters from a query string. Raises FilterError (400) or PermissionError (403).

    A person who may see dashboards may compare teams; anyone else (a rep) sees
    only their own team and is refused another's.
    """
    today = today or clock.now().date()
    end = _date(params.get("end"), today)
    start = _date(params.get("start"), end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise FilterError("The period starts after it ends.")
    if (end - start).days >= MAX_DAYS:
        raise FilterError("The period may span at most two years.")
    by_id = {team.pk: team for team in teams}
    choice = params.get("team")
    may_compare = user.has_perm(perm("view_dashboards"))
    own = default_team_for(user, teams)
    if choice is None or choice == "":
        choice = str(own.pk) if own else "all"
    if choice == "all":
        if not may_compare:
            raise PermissionError("You may see only your own team's figures.")
        team_ids = tuple(by_id)
    else:
        team_id = _int(choice)
        if team_id not in by_id:
            raise FilterError("No such team.")
        if not may_compare and (own is None or own.pk != team_id):
            raise PermissionError("You may see only your own team's figures.")
        team_ids = (team_id,)
    return ReportFilters(
        start=start,
        end=end,
        team_ids=team_ids,
        rep_id=_int(params.get("rep")),
        source=(params.get("source") or "").strip()[:100],
        campaign_id=_int(params.get("campaign")),
        team_choice=choice,
    )


def filter_choices(teams: list[Team]) -> dict[str, Any]:
    """What the filter form offers: teams, their reps, sources and campaigns (4 queries)."""
    team_ids = [t.pk for t in teams]
    return {
        "teams": teams,
        "reps": list(
            User.objects.filter(team_id__in=team_ids, is_active=True)
            .select_related("team")
            .order_by("team__name", "first_name", "username")
        ),
        "sources": lead_sources(100),
        "campaigns": list(Campaign.objects.order_by("name").only("id", "name")[:200]),
    }


# --- tables and charts ---------------------------------------------------------------


@dataclass
class Table:
    """One table of a report: what the page shows, the CSV holds and the API returns."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "columns": self.columns,
            "rows": [[_jsonable(v) for v in row] for row in self.rows],
        }

    def csv_rows(self) -> list[list[Any]]:
        return [self.columns, *self.rows]


@dataclass
class Bar:
    label: str
    value: float
    text: str
    pct: float  # of the longest bar, 0-100
    pattern: int = 0  # which fill pattern: readable without colour
    # SVG geometry, worked out here (templates cannot do arithmetic).
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0


@dataclass
class Chart:
    """A bar chart drawn from one column of a table (server-side SVG)."""

    key: str
    title: str
    table: str
    bars: list[Bar]
    unit: str = ""
    vertical: bool = False

    @property
    def height(self) -> int:
        return CHART_PLOT_HEIGHT + 40 if self.vertical else BAR_STEP * len(self.bars) + 8

    @property
    def width(self) -> int:
        if self.vertical:
            return max(CHART_WIDTH, COLUMN_STEP * len(self.bars))
        return CHART_WIDTH

    @property
    def label_every(self) -> int:
        """Vertical charts label every n-th column so the dates never overlap."""
        return max(1, len(self.bars) // 12)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "table": self.table,
            "unit": self.unit,
            "labels": [b.label for b in self.bars],
            "values": [b.value for b in self.bars],
        }


CHART_WIDTH = 640
LABEL_WIDTH = 200
BAR_SPACE = 360
BAR_STEP = 26
CHART_PLOT_HEIGHT = 160
COLUMN_STEP = 22


def chart(
    key: str,
    title: str,
    table: Table,
    *,
    label: int = 0,
    value: int = 1,
    unit: str = "",
    vertical: bool = False,
    patterned: bool = False,
) -> Chart:
    values = [float(row[value] or 0) for row in table.rows]
    top = max(values, default=0) or 1
    bars = []
    for i, (row, v) in enumerate(zip(table.rows, values, strict=True)):
        pct = round(100 * v / top, 2)
        bar = Bar(
            label=str(row[label]),
            value=v,
            text=_text(row[value], unit),
            pct=pct,
            pattern=(i % 4) if patterned else 0,
        )
        if vertical:
            bar.h = round(CHART_PLOT_HEIGHT * pct / 100, 1)
            bar.x = i * COLUMN_STEP + 2
            bar.y = round(CHART_PLOT_HEIGHT + 14 - bar.h, 1)
        else:
            bar.w = round(BAR_SPACE * pct / 100, 1)
            bar.x = LABEL_WIDTH
            bar.y = i * BAR_STEP + 4
        bars.append(bar)
    return Chart(key=key, title=title, table=table.key, bars=bars, unit=unit, vertical=vertical)


def _text(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        value = f"{value:.1f}"
    return f"{value}{unit}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


@dataclass
class Report:
    key: str
    figures: dict[str, Any]
    tables: list[Table]
    charts: list[Chart] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)

    def as_json(self) -> dict[str, Any]:
        return {
            "report": self.key,
            "figures": {k: _jsonable(v) for k, v in self.figures.items()},
            "tables": [t.as_json() for t in self.tables],
            "charts": [c.as_json() for c in self.charts],
        }


def rate(part: int | None, whole: int | None) -> float | None:
    """A percentage with one decimal, or None when there is nothing to divide."""
    if not whole:
        return None
    return round(100 * (part or 0) / whole, 1)


def _handed_off(filters: ReportFilters) -> QuerySet[Lead]:
    return Lead.objects.filter(
        filters.leads(explicit_teams=True),
        stage__in=ALL_STAGES,
        handed_off_at__gte=filters.start_at,
        handed_off_at__lt=filters.end_at,
    )


# --- funnel and outcomes ------------------------------------------------------------

FUNNEL_STEPS = [
    ("MQL", "mql"),
    ("SAL", "sal"),
    ("SQL", "sql"),
    ("Opportunity", "opportunity"),
    ("Won", "won"),
]


def funnel_counts(filters: ReportFilters) -> dict[str, int]:
    """How far the leads handed off in the period got (one query)."""
    return _handed_off(filters).aggregate(
        mql=Count("id"),
        sal=Count("id", filter=Q(accepted_at__isnull=False)),
        rejected=Count("id", filter=Q(rejected_at__isnull=False)),
        sql=Count("id", filter=Q(qualified_at__isnull=False)),
        opportunity=Count("id", filter=Q(converted_at__isnull=False)),
        won=Count("id", filter=Q(stage=Stage.WON)),
        lost=Count("id", filter=Q(stage=Stage.LOST)),
        no_decision=Count("id", filter=Q(stage=Stage.NO_DECISION)),
        won_amount=Sum("amount", filter=Q(stage=Stage.WON)),
    )


def funnel(filters: ReportFilters) -> Report:
    """MQL → SAL → SQL → Opportunity → Won, with Lost and No decision apart (2 queries)."""
    counts = funnel_counts(filters)
    steps = Table(
        "funnel",
        "Funnel of the leads handed off in the period",
        ["Stage", "Leads", "% of MQL", "% of previous step"],
    )
    previous = None
    for label, key in FUNNEL_STEPS:
        n = counts[key] or 0
        steps.rows.append(
            [label, n, rate(n, counts["mql"]), rate(n, previous) if previous is not None else None]
        )
        previous = n
    closed = (counts["won"] or 0) + (counts["lost"] or 0) + (counts["no_decision"] or 0)
    outcomes = Table(
        "outcomes",
        "How the closed ones ended",
        ["Outcome", "Leads", "% of closed"],
        [
            ["Won", counts["won"], rate(counts["won"], closed)],
            ["Lost", counts["lost"], rate(counts["lost"], closed)],
            ["No decision", counts["no_decision"], rate(counts["no_decision"], closed)],
        ],
    )
    cost = campaign_cost_per_revenue(filters)
    figures = {
        "mql": counts["mql"],
        "won": counts["won"],
        "closed": closed,
        "rejected": counts["rejected"],
        "mql_to_won_rate": rate(counts["won"], counts["mql"]),
        "win_rate": rate(counts["won"], closed),
        "no_decision_rate": rate(counts["no_decision"], closed),
        "won_amount": counts["won_amount"] or Decimal("0"),
    }
    return Report(
        "funnel",
        figures,
        [steps, outcomes, cost],
        [
            chart("funnel", "Funnel", steps, unit=" leads"),
            chart("outcomes", "Outcomes", outcomes, unit=" leads", patterned=True),
        ],
    )


def campaign_cost_per_revenue(filters: ReportFilters) -> Table:
    """Campaign cost over revenue won from its leads (won in the period), highest first."""
    won = (
        Lead.objects.filter(
            filters.leads(),
            stage=Stage.WON,
            campaign__isnull=False,
            closed_at__gte=filters.start_at,
            closed_at__lt=filters.end_at,
        )
        .values("campaign_id", "campaign__name", "campaign__cost")
        .annotate(revenue=Sum("amount"), deals=Count("id"))
        .order_by("campaign__name")
    )
    table = Table(
        "campaign_cost",
        "Lead cost per revenue dollar, by campaign",
        ["Campaign", "Cost", "Revenue won", "Deals won", "Cost per revenue dollar"],
    )
    rows = []
    for row in won:
        revenue = row["revenue"] or Decimal("0")
        per_dollar = (
            (row["campaign__cost"] / revenue).quantize(Decimal("0.001")) if revenue else None
        )
        rows.append(
            [row["campaign__name"], row["campaign__cost"], revenue, row["deals"], per_dollar]
        )
    rows.sort(key=lambda r: (r[4] is None, -(r[4] or 0), r[0]))
    table.rows = rows
    return table


def revenue_won(filters: ReportFilters) -> dict[str, Any]:
    """Revenue won in the period: in all, per team, and the share marketing sourced.

    Marketing sourced a deal when the lead came from a campaign (2 queries).
    """
    base = Lead.objects.filter(
        filters.leads(),
        stage=Stage.WON,
        closed_at__gte=filters.start_at,
        closed_at__lt=filters.end_at,
    )
    totals = base.aggregate(
        revenue=Sum("amount"),
        deals=Count("id"),
        marketing=Sum("amount", filter=Q(campaign__isnull=False)),
    )
    per_team = list(
        base.values("team__name")
        .annotate(revenue=Sum("amount"), deals=Count("id"))
        .order_by("team__name")
    )
    return {
        "revenue": totals["revenue"] or Decimal("0"),
        "deals": totals["deals"],
        "marketing_sourced": totals["marketing"] or Decimal("0"),
        "marketing_share": rate(totals["marketing"] or 0, totals["revenue"] or 0),
        "per_team": [
            {
                "team": r["team__name"] or "No team",
                "revenue": r["revenue"] or Decimal("0"),
                "deals": r["deals"],
            }
            for r in per_team
        ],
    }


# --- handoff quality --------------------------------------------------------------

STUCK_AFTER = timedelta(days=2)
STUCK_LIMIT = 20


def handoff_quality(filters: ReportFilters, *, now: datetime | None = None) -> Report:
    """Acceptance rate by source, campaign and definition version; rejection reasons
    (Pareto); what became of the leads that came back; leads stuck between
    handoffs (6 queries)."""
    now = now or clock.now()
    handed = _handed_off(filters)
    decided = Q(accepted_at__isnull=False) | Q(rejected_at__isnull=False)

    def by(field_name: str, label_field: str, title: str, key: str) -> Table:
        rows = (
            handed.values(field_name, label_field)
            .annotate(
                handed=Count("id"),
                decided=Count("id", filter=decided),
                accepted=Count("id", filter=Q(accepted_at__isnull=False)),
            )
            .order_by(label_field)
        )
        table = Table(key, title, ["", "Handed off", "Accepted", "Rejected", "Acceptance rate"])
        table.columns[0] = title.rsplit(" by ", 1)[-1].capitalize()
        for row in rows:
            rejected = row["decided"] - row["accepted"]
            label = row[label_field]
            if label is None:
                label = "(none)"
            table.rows.append(
                [
                    label,
                    row["handed"],
                    row["accepted"],
                    rejected,
                    rate(row["accepted"], row["decided"]),
                ]
            )
        return table

    by_source = by("source", "source", "Acceptance by source", "by_source")
    by_campaign = by("campaign_id", "campaign__name", "Acceptance by campaign", "by_campaign")
    by_version = by(
        "definition_version_id", "definition_version__number", "Acceptance by version", "by_version"
    )
    for row in by_version.rows:
        row[0] = f"v{row[0]}" if row[0] != "(none)" else row[0]
    by_version.columns[0] = "Definition version"

    reasons = list(
        Lead.objects.filter(
            filters.leads(),
            rejected_at__isnull=False,
            rejected_at__gte=filters.start_at,
            rejected_at__lt=filters.end_at,
        )
        .values("rejection_reason__label")
        .annotate(n=Count("id"))
        .order_by("-n", "rejection_reason__label")
    )
    total_rejected = sum(r["n"] for r in reasons)
    pareto = Table(
        "rejection_reasons",
        "Rejection reasons (Pareto)",
        ["Reason", "Leads", "% of rejections", "Cumulative %"],
    )
    running = 0
    for row in reasons:
        running += row["n"]
        pareto.rows.append(
            [
                row["rejection_reason__label"] or "(no reason)",
                row["n"],
                rate(row["n"], total_rejected),
                rate(running, total_rejected),
            ]
        )

    came_back_rows = list(
        Lead.objects.filter(
            filters.leads(),
            rejected_at__isnull=False,
            rejected_at__gte=filters.start_at,
            rejected_at__lt=filters.end_at,
        )
        .values("stage")
        .annotate(n=Count("id"), disputed=Count("disputes", distinct=True))
        .order_by("-n", "stage")
    )
    came_back = Table(
        "came_back",
        "Leads that came back, and where they are now",
        ["Now", "Leads", "Disputes raised"],
        [[Stage(r["stage"]).label, r["n"], r["disputed"]] for r in came_back_rows],
    )

    stuck_q = Lead.objects.filter(
        filters.leads(),
        Q(stage=Stage.MQL, owner__isnull=True, updated_at__lt=now - STUCK_AFTER)
        | Q(stage=Stage.NURTURE, rejected_at__isnull=False, rejected_at__lt=now - STUCK_AFTER),
    )
    stuck = Table(
        "stuck",
        f"Stuck between two handoffs for more than {STUCK_AFTER.days} days (oldest first)",
        ["Lead", "Stage", "Since", "Waiting (days)"],
    )
    for lead in stuck_q.only(
        "id",
        "first_name",
        "last_name",
        "email",
        "company",
        "source",
        "external_id",
        "stage",
        "rejected_at",
        "updated_at",
    ).order_by("updated_at")[:STUCK_LIMIT]:
        since = lead.rejected_at or lead.updated_at
        stuck.rows.append([str(lead), Stage(lead.stage).label, since, (now - since).days])

    figures = {
        "handed_off": sum(r[1] for r in by_source.rows),
        "accepted": sum(r[2] for r in by_source.rows),
        "rejected": sum(r[3] for r in by_source.rows),
    }
    figures["acceptance_rate"] = rate(
        figures["accepted"], figures["accepted"] + figures["rejected"]
    )
    return Report(
        "handoff",
        figures,
        [by_source, by_campaign, by_version, pareto, came_back, stuck],
        [
            chart("by_source", "Acceptance rate by source", by_source, value=4, unit="%"),
            chart("rejection_reasons", "Rejection reasons", pareto, unit=" leads"),
        ],
    )


# --- does the scoring work? -----------------------------------------------------------

BAND_WIDTH = 20


def auc(positives: dict[int, int], negatives: dict[int, int]) -> float | None:
    """ROC AUC of a score against an outcome, from the count of each score value.

    The probability that a random positive scores higher than a random negative,
    ties counting half (the Mann-Whitney U statistic over n+ · n-).
    """
    n_pos = sum(positives.values())
    n_neg = sum(negatives.values())
    if not n_pos or not n_neg:
        return None
    wins = 0.0
    negatives_below = 0
    for score in sorted(set(positives) | set(negatives)):
        pos, neg = positives.get(score, 0), negatives.get(score, 0)
        wins += pos * (negatives_below + neg / 2)
        negatives_below += neg
    return round(wins / (n_pos * n_neg), 3)


def _band(score: int) -> int:
    return (score // BAND_WIDTH) * BAND_WIDTH


def scoring(filters: ReportFilters) -> Report:
    """Conversion to SQL and to Won by score band, per definition version, and the
    ROC AUC of the score against each outcome (one query, grouped by version and score).

    Outcomes count only leads whose story has an end or has gone far enough:
    a lead reached SQL if it was ever qualified (imported history: stage SQL or
    beyond); it was won if its stage is Won.
    """
    rows = (
        Lead.objects.filter(
            filters.leads(),
            stage__in=ALL_STAGES,
            created_at__gte=filters.start_at,
            created_at__lt=filters.end_at,
            score__isnull=False,
            definition_version__isnull=False,
        )
        .values("definition_version_id", "definition_version__number", "score")
        .annotate(
            n=Count("id"),
            sql=Count(
                "id",
                filter=Q(qualified_at__isnull=False)
                | Q(stage__in=[Stage.SQL, Stage.OPPORTUNITY, Stage.WON]),
            ),
            won=Count("id", filter=Q(stage=Stage.WON)),
        )
        .order_by("definition_version__number", "score")
    )
    per_version: dict[int, dict[str, Any]] = {}
    for row in rows:
        v = per_version.setdefault(
            row["definition_version__number"],
            {
                "bands": defaultdict(lambda: [0, 0, 0]),
                "sql_pos": defaultdict(int),
                "sql_neg": defaultdict(int),
                "won_pos": defaultdict(int),
                "won_neg": defaultdict(int),
            },
        )
        band = v["bands"][_band(row["score"])]
        band[0] += row["n"]
        band[1] += row["sql"]
        band[2] += row["won"]
        v["sql_pos"][row["score"]] += row["sql"]
        v["sql_neg"][row["score"]] += row["n"] - row["sql"]
        v["won_pos"][row["score"]] += row["won"]
        v["won_neg"][row["score"]] += row["n"] - row["won"]

    bands = Table(
        "score_bands",
        "Conversion by score band",
        ["Version", "Score band", "Leads", "Reached SQL", "% to SQL", "Won", "% won"],
    )
    ranking = Table(
        "ranking",
        "How well the score ranks the outcome (ROC AUC: 0.5 = chance, 1 = perfect)",
        ["Version", "Leads", "AUC for SQL", "AUC for Won"],
    )
    for number in sorted(per_version):
        v = per_version[number]
        total = 0
        for low in sorted(v["bands"]):
            n, sql, won = v["bands"][low]
            total += n
            bands.rows.append(
                [
                    f"v{number}",
                    f"{low}–{low + BAND_WIDTH - 1}",
                    n,
                    sql,
                    rate(sql, n),
                    won,
                    rate(won, n),
                ]
            )
        ranking.rows.append(
            [
                f"v{number}",
                total,
                auc(v["sql_pos"], v["sql_neg"]),
                auc(v["won_pos"], v["won_neg"]),
            ]
        )
    latest = [r for r in bands.rows if ranking.rows and r[0] == ranking.rows[-1][0]]
    band_table = Table("latest_bands", "", bands.columns, latest)
    charts = []
    if latest:
        charts.append(
            chart(
                "score_bands",
                f"% reaching SQL by score band ({ranking.rows[-1][0]})",
                band_table,
                label=1,
                value=4,
                unit="%",
            )
        )
        charts[-1].table = "score_bands"
    figures = {
        "versions": len(ranking.rows),
        "auc_sql": ranking.rows[-1][2] if ranking.rows else None,
        "auc_won": ranking.rows[-1][3] if ranking.rows else None,
    }
    return Report("scoring", figures, [ranking, bands], charts)
