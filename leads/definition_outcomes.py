"""A draft definition judged on outcomes: its score replayed on the period's leads, whose
real outcomes are known (reached SQL, won), against the version in force. Conversion by
score band and ROC AUC for each, so a threshold change is judged on what happened.
Complements `selectors.definition_preview` (the leads gained and lost)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import BooleanField, ExpressionWrapper

from leads.models import Lead
from leads.reports import BAND_WIDTH, REACHED_SQL, _band, auc
from leads.stages import Stage

DAYS = 90
MOST = 20_000  # the newest leads of the period, at most: the page answers in a second or two


def definition_outcomes(version, *, now: datetime, days: int = DAYS) -> dict:
    """Per version (the draft, the one in force): leads, qualified, conversion to SQL
    and to won by score band, and the ROC AUC of the score for each outcome."""
    from glossary.scoring import compile_definition
    from glossary.selectors import definition_in_force
    from leads.validation import CONTACT_FIELDS

    since = now - timedelta(days=days)
    rows = (
        Lead.objects.filter(is_history=False, created_at__gte=since, created_at__lt=now)
        .annotate(sql=ExpressionWrapper(REACHED_SQL, output_field=BooleanField()))
        .order_by("-created_at", "-id")
        .values("source", "attributes", "sql", "stage", *CONTACT_FIELDS)[:MOST]
    )
    current_version = definition_in_force(version.stage.key)
    scorers = [("draft", version, compile_definition(version))]
    if current_version is not None and current_version.pk != version.pk:
        scorers.append(("in_force", current_version, compile_definition(current_version)))
    tallies = {name: _Tally() for name, _, _ in scorers}
    leads = 0
    for row in rows.iterator(chunk_size=2000):
        leads += 1
        fields = {name: row[name] for name in (*CONTACT_FIELDS, "source")}
        sql, won = bool(row["sql"]), row["stage"] == Stage.WON
        for name, _, scorer in scorers:
            result = scorer.score(fields=fields, attributes=row["attributes"] or {})
            tallies[name].add(result, sql=sql, won=won)
    versions = [tallies[name].summary(name, found) for name, found, _ in scorers]
    return {"days": days, "leads": leads, "versions": versions}


class _Tally:
    """One version's counts over the period: per score band, per score for the AUC,
    and of the leads it qualifies, how many reached SQL and were won."""

    def __init__(self) -> None:
        self.bands = defaultdict(lambda: [0, 0, 0])
        self.sql = (defaultdict(int), defaultdict(int))
        self.won = (defaultdict(int), defaultdict(int))
        self.qualified = [0, 0, 0]

    def add(self, result, *, sql: bool, won: bool) -> None:
        band = self.bands[_band(max(result.points, 0))]
        band[0] += 1
        band[1] += sql
        band[2] += won
        self.sql[0 if sql else 1][result.points] += 1
        self.won[0 if won else 1][result.points] += 1
        if result.qualified:
            self.qualified[0] += 1
            self.qualified[1] += sql
            self.qualified[2] += won

    def summary(self, name: str, version) -> dict:
        qualified, reached_sql, won = self.qualified
        return {
            "name": name,
            "version": version,
            "auc_sql": auc(*self.sql),
            "auc_won": auc(*self.won),
            "qualified": qualified,
            "qualified_sql_rate": _rate(reached_sql, qualified),
            "qualified_won_rate": _rate(won, qualified),
            "bands": [
                {
                    "band": f"{low}–{low + BAND_WIDTH - 1}",
                    "leads": n,
                    "sql_rate": _rate(s, n),
                    "won_rate": _rate(w, n),
                }
                for low, (n, s, w) in sorted(self.bands.items())
            ],
        }


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None
