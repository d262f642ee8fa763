"""Reads for the manager's reports: funnel and outcomes, handoff quality, scoring.

Every report is one small, bounded set of aggregate queries (the figures are
computed in the database, never by walking leads in Python) and returns a
`Report` (alignment.charts): its headline figures and its tables, charts
drawn from them. The filters are leads.report_filters.

Cohorts: the funnel and handoff quality follow the leads *handed off* in the
period (a lead's story is told from its handoff, whenever it later closes);
revenue counts the deals *won* in the period; scoring reads every scored lead
created in the period, history included.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from alignment import clock
from alignment.charts import Report, Table, chart, rate
from alignment.models import Team
from glossary.models import DefinitionVersion
from leads import rollups
from leads.machine import Action
from leads.models import Campaign, Lead, LeadEvent, RollupBasis
from leads.report_filters import ReportFilters
from leads.stages import Stage

# Every stage listed explicitly: with `stage IN (...)` PostgreSQL walks the
# (team, stage, handed_off_at) index as a few range scans instead of reading
# every lead of the team.
# (A duplicate merged into another lead is not counted twice.)
ALL_STAGES = tuple(s for s in Stage.values if s != Stage.MERGED)


# A lead that reached SQL: ever qualified, or imported at SQL or beyond.
REACHED_SQL = Q(qualified_at__isnull=False) | Q(stage__in=[Stage.SQL, Stage.OPPORTUNITY, Stage.WON])


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
    """How far the leads handed off in the period got (one query, of the day rollup)."""
    counts = rollups.rows_for(filters, RollupBasis.HANDED, explicit_teams=True).aggregate(
        mql=Sum("n"),
        sal=Sum("accepted"),
        rejected=Sum("rejected"),
        sql=Sum("qualified"),
        opportunity=Sum("converted"),
        won=Sum("won"),
        lost=Sum("lost"),
        no_decision=Sum("no_decision"),
        won_amount=Sum("amount"),
    )
    return {k: v or 0 for k, v in counts.items()} | {"won_amount": counts["won_amount"]}


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
    campaign = Campaign.objects.filter(pk=OuterRef("campaign_id"))
    won = rollups.positive(
        rollups.rows_for(filters, RollupBasis.WON)
        .exclude(campaign_id=0)
        .values("campaign_id")
        .annotate(revenue=Sum("amount"), deals=Sum("n")),
        "deals",
    ).annotate(
        campaign__name=Subquery(campaign.values("name")),
        campaign__cost=Subquery(campaign.values("cost")),
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
    base = rollups.rows_for(filters, RollupBasis.WON)
    totals = base.aggregate(
        revenue=Sum("amount"),
        deals=Coalesce(Sum("n"), 0),
        marketing=Sum("amount", filter=~Q(campaign_id=0)),
    )
    team = Team.objects.filter(pk=OuterRef("team_id")).values("name")
    per_team = list(
        rollups.positive(
            base.values("team_id").annotate(revenue=Sum("amount"), deals=Sum("n")), "deals"
        )
        .annotate(team__name=Subquery(team))
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


# What each acceptance table groups the handed-off rollup by, and its label.
_LABELS = {
    "campaign_id": ("campaign__name", Campaign, "name"),
    "version_id": ("definition_version__number", DefinitionVersion, "number"),
}


def _acceptance_by(handed: QuerySet, field_name: str, title: str, key: str) -> Table:
    """Handed off, accepted, rejected and the acceptance rate, per value of one field."""
    rows = rollups.positive(
        handed.values(field_name).annotate(
            handed=Sum("n"), decided_n=Sum("decided"), accepted_n=Sum("accepted")
        ),
        "handed",
    )
    label_field = field_name
    if field_name in _LABELS:
        label_field, model, column = _LABELS[field_name]
        label = model.objects.filter(pk=OuterRef(field_name)).values(column)
        rows = rows.annotate(**{label_field: Subquery(label)})
    rows = rows.order_by(label_field)
    table = Table(key, title, ["", "Handed off", "Accepted", "Rejected", "Acceptance rate"])
    table.columns[0] = title.rsplit(" by ", 1)[-1].capitalize()
    for row in rows:
        label = row[label_field]
        table.rows.append(
            [
                "(none)" if label is None else label,
                row["handed"],
                row["accepted_n"],
                row["decided_n"] - row["accepted_n"],
                rate(row["accepted_n"], row["decided_n"]),
            ]
        )
    return table


def rejection_events(filters: ReportFilters) -> QuerySet[LeadEvent]:
    """Every rejection made in the period, from the event log: a recycled lead or an
    overturned rejection clears the lead's reason, but the rejection happened and
    stays counted (under the reason given then). The rep is who rejected."""
    q = Q(kind=Action.REJECT, occurred_at__gte=filters.start_at, occurred_at__lt=filters.end_at)
    if filters.team_ids and not filters.all_teams:
        q &= Q(lead__team_id__in=filters.team_ids)
    if filters.rep_id:
        q &= Q(actor_id=filters.rep_id)
    if filters.source:
        q &= Q(lead__source=filters.source)
    if filters.campaign_id:
        q &= Q(lead__campaign_id=filters.campaign_id)
    return LeadEvent.objects.filter(q)


def _rejection_pareto(filters: ReportFilters) -> Table:
    """Every rejection made in the period, by its reason: the rejection events, as the
    day rollup counts them (a recycled lead or an overturned rejection clears the
    lead's reason, but the rejection happened and stays counted)."""
    grouped = rollups.positive(
        rollups.rows_for(filters, RollupBasis.REJECTION)
        .values("reason")
        .annotate(rejections=Sum("n")),
        "rejections",
    ).order_by("-rejections", "reason")
    reasons = [{"reason": r["reason"], "n": r["rejections"]} for r in grouped]
    total = sum(r["n"] for r in reasons)
    pareto = Table(
        "rejection_reasons",
        "Rejection reasons (Pareto)",
        ["Reason", "Rejections", "% of rejections", "Cumulative %"],
    )
    running = 0
    for row in reasons:
        running += row["n"]
        pareto.rows.append(
            [row["reason"] or "(no reason)", row["n"], rate(row["n"], total), rate(running, total)]
        )
    return pareto


def _came_back(filters: ReportFilters) -> Table:
    rows = rollups.positive(
        rollups.rows_for(filters, RollupBasis.REJECTED)
        .values("stage")
        .annotate(leads=Sum("n"), disputed=Sum("disputes")),
        "leads",
    ).order_by("-leads", "stage")
    return Table(
        "came_back",
        "Leads that came back, and where they are now",
        ["Now", "Leads", "Disputes raised"],
        [[Stage(r["stage"]).label, r["leads"], r["disputed"]] for r in rows],
    )


def _stuck(filters: ReportFilters, now: datetime) -> Table:
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
    fields = ("id", "first_name", "last_name", "email", "company", "source", "external_id")
    for lead in stuck_q.only(*fields, "stage", "rejected_at", "updated_at").order_by("updated_at")[
        :STUCK_LIMIT
    ]:
        since = lead.rejected_at or lead.updated_at
        stuck.rows.append([str(lead), Stage(lead.stage).label, since, (now - since).days])
    return stuck


def handoff_quality(filters: ReportFilters, *, now: datetime | None = None) -> Report:
    """Acceptance rate by source, campaign and definition version; rejection reasons
    (Pareto); what became of the leads that came back; leads stuck between
    handoffs (6 queries)."""
    now = now or clock.now()
    handed = rollups.rows_for(filters, RollupBasis.HANDED, explicit_teams=True)
    by_source = _acceptance_by(handed, "source", "Acceptance by source", "by_source")
    by_campaign = _acceptance_by(handed, "campaign_id", "Acceptance by campaign", "by_campaign")
    by_version = _acceptance_by(handed, "version_id", "Acceptance by version", "by_version")
    for row in by_version.rows:
        row[0] = f"v{row[0]}" if row[0] != "(none)" else row[0]
    by_version.columns[0] = "Definition version"
    pareto = _rejection_pareto(filters)
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
        [by_source, by_campaign, by_version, pareto, _came_back(filters), _stuck(filters, now)],
        [
            chart("by_source", "Acceptance rate by source", by_source, value=4, unit="%"),
            chart("rejection_reasons", "Rejection reasons", pareto, unit=" rejections"),
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


def _score_counts(filters: ReportFilters) -> dict[int, dict[str, Any]]:
    """Per definition version: leads, reached SQL and won per score band, and the
    positives and negatives per score the AUC needs (one query)."""
    number = DefinitionVersion.objects.filter(pk=OuterRef("version_id")).values("number")
    rows = (
        rollups.positive(
            rollups.rows_for(filters, RollupBasis.CREATED)
            .values("version_id", "score")
            .annotate(leads=Sum("n"), sql=Sum("reached_sql"), wins=Sum("won")),
            "leads",
        )
        .annotate(definition_version__number=Subquery(number))
        .order_by("definition_version__number", "score")
    )
    per_version: dict[int, dict[str, Any]] = {}
    for grouped in rows:
        row = {**grouped, "n": grouped["leads"], "won": grouped["wins"]}
        v = per_version.setdefault(
            row["definition_version__number"],
            {"bands": defaultdict(lambda: [0, 0, 0]), **{k: defaultdict(int) for k in _AUC_KEYS}},
        )
        band = v["bands"][_band(row["score"])]
        band[0] += row["n"]
        band[1] += row["sql"]
        band[2] += row["won"]
        v["sql_pos"][row["score"]] += row["sql"]
        v["sql_neg"][row["score"]] += row["n"] - row["sql"]
        v["won_pos"][row["score"]] += row["won"]
        v["won_neg"][row["score"]] += row["n"] - row["won"]
    return per_version


_AUC_KEYS = ("sql_pos", "sql_neg", "won_pos", "won_neg")


def _score_tables(per_version: dict[int, dict[str, Any]]) -> tuple[Table, Table]:
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
            band = f"{low}–{low + BAND_WIDTH - 1}"
            bands.rows.append([f"v{number}", band, n, sql, rate(sql, n), won, rate(won, n)])
        sql_auc = auc(v["sql_pos"], v["sql_neg"])
        ranking.rows.append([f"v{number}", total, sql_auc, auc(v["won_pos"], v["won_neg"])])
    return bands, ranking


def scoring(filters: ReportFilters) -> Report:
    """Conversion to SQL and to Won by score band, per definition version, and the
    ROC AUC of the score against each outcome (one query, grouped by version and score).

    Outcomes count only leads whose story has an end or has gone far enough:
    a lead reached SQL if it was ever qualified (imported history: stage SQL or
    beyond); it was won if its stage is Won.
    """
    bands, ranking = _score_tables(_score_counts(filters))
    latest = [r for r in bands.rows if ranking.rows and r[0] == ranking.rows[-1][0]]
    charts = []
    if latest:
        title = f"% reaching SQL by score band ({ranking.rows[-1][0]})"
        band_table = Table("latest_bands", "", bands.columns, latest)
        charts.append(chart("score_bands", title, band_table, label=1, value=4, unit="%"))
        charts[-1].table = "score_bands"
    figures = {
        "versions": len(ranking.rows),
        "auc_sql": ranking.rows[-1][2] if ranking.rows else None,
        "auc_won": ranking.rows[-1][3] if ranking.rows else None,
    }
    return Report("scoring", figures, [ranking, bands], charts)


# --- fair distribution --------------------------------------------------------------


def _won_rate_by_band(per_version: dict[int, dict[str, Any]]) -> dict[int, float]:
    """Each score band's share of leads won, over the versions of the period (the
    scoring panel's bands, merged)."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for v in per_version.values():
        for low, (n, _sql, won) in v["bands"].items():
            totals[low][0] += n
            totals[low][1] += won
    return {low: won / n for low, (n, won) in totals.items() if n}


def distribution(filters: ReportFilters) -> Report:
    """Per rep, the leads handed to them in the period: how many, their average score,
    how many of them their scores promise to win (each lead at its score band's won
    rate, as the scoring panel measures it), and how many they accepted and won: so
    "my leads are worse" is answered with figures (two queries)."""
    won_rate = _won_rate_by_band(_score_counts(filters))
    rows = (
        _handed_off(filters)
        .filter(owner__isnull=False)
        .values("owner_id", "owner__first_name", "owner__last_name", "owner__username", "score")
        .annotate(
            n=Count("id"),
            accepted=Count("id", filter=Q(accepted_at__isnull=False)),
            won=Count("id", filter=Q(stage=Stage.WON)),
        )
        .order_by("owner__first_name", "owner__last_name", "owner_id", "score")
    )
    reps: dict[int, dict[str, Any]] = {}
    for row in rows:
        name = f"{row['owner__first_name']} {row['owner__last_name']}".strip()
        rep = reps.setdefault(
            row["owner_id"],
            {"name": name or row["owner__username"], "n": 0, "scored": 0, "points": 0,
             "expected": 0.0, "accepted": 0, "won": 0},
        )  # fmt: skip
        rep["n"] += row["n"]
        rep["accepted"] += row["accepted"]
        rep["won"] += row["won"]
        if row["score"] is not None:
            rep["scored"] += row["n"]
            rep["points"] += row["score"] * row["n"]
            rep["expected"] += row["n"] * won_rate.get(_band(row["score"]), 0.0)
    table = Table(
        "distribution",
        "Leads per rep: what they got, what their scores promise, what came of them",
        ["Rep", "Leads received", "Average score", "Expected won (by score)", "Accepted",
         "% accepted", "Won"],
    )  # fmt: skip
    for rep in reps.values():
        average = round(rep["points"] / rep["scored"], 1) if rep["scored"] else None
        table.rows.append(
            [rep["name"], rep["n"], average, round(rep["expected"], 1), rep["accepted"],
             rate(rep["accepted"], rep["n"]), rep["won"]]
        )  # fmt: skip
    received = [rep["n"] for rep in reps.values()]
    figures = {
        "reps": len(reps),
        "most": max(received, default=0),
        "fewest": min(received, default=0),
    }
    charts = [chart("distribution", "Leads received per rep", table, label=0, value=1)]
    return Report("distribution", figures, [table], charts)
