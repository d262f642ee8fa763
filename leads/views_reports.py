"""Report panels: funnel and outcomes, handoff quality, scoring.

Each panel is its own URL (the SLA dashboard and a manager's home load them
with htmx), renders the same template as a full page without htmx, and
exports any of its tables as CSV (`?export=<table key>`). `render_report` is
shared with the SLA panels, which read leads.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from alignment.charts import Report
from alignment.csvexport import csv_response
from alignment.headline import Figure, headline, needs_previous_report
from alignment.permissions import capability_required
from leads import report_filters, reports
from leads.report_filters import FilterError, ReportFilters


def filters_from(request: HttpRequest) -> tuple[ReportFilters, list]:
    """The request's filters; 400 for a bad value, 403 for a team not one's own."""
    teams = report_filters.sales_teams()
    try:
        return report_filters.parse_filters(request.GET, user=request.user, teams=teams), teams
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc


def render_report(
    request: HttpRequest,
    *,
    url_name: str,
    url_kwargs: dict | None = None,
    title: str,
    build: Callable[[ReportFilters, list], Report],
    figures: list[Figure],
    page_template: str,
    panel_template: str = "_chart_report.html",
) -> HttpResponse:
    try:
        filters, teams = filters_from(request)
    except FilterError as exc:
        return HttpResponseBadRequest(str(exc))
    report = build(filters, teams)
    export = request.GET.get("export")
    if export:
        try:
            table = report.table(export)
        except KeyError as exc:
            raise Http404("No such table.") from exc
        name = f"{report.key}-{table.key}-{filters.start}-{filters.end}.csv"
        return csv_response(name, table.csv_rows())
    base = reverse(url_name, kwargs=url_kwargs)
    query = filters.as_query()
    # The headline's change: the same panel over the period just before (its
    # queries once more, a constant number), unless the report holds it already.
    previous = build(filters.previous(), teams) if needs_previous_report(figures) else None
    context = {
        "title": title,
        "report": report,
        "headline": headline(figures, report, previous, days=filters.days),
        "filters": filters,
        "query": urlencode(query),
        "panel_url": f"{base}?{urlencode(query)}",
        "export_base": f"{base}?{urlencode(query)}&export=",
        "table_charts": {c.table: c for c in report.charts},
    }
    if getattr(request, "htmx", False):
        return render(request, panel_template, context)
    return render(request, page_template, context)


def _pct(value) -> str:
    return "–" if value is None else f"{value}%"


FUNNEL = [
    Figure("MQLs handed off", "mql", noun="lead", better="up"),
    Figure("MQL → Won", "mql_to_won_rate", "percent", better="up"),
    Figure("Win rate (of closed)", "win_rate", "percent", better="up"),
    Figure("No-decision rate", "no_decision_rate", "percent", better="down"),
    Figure("Revenue won from them", "won_amount", "money", better="up"),
]
HANDOFF = [
    Figure("Handed off", "handed_off", noun="lead"),
    Figure("Accepted", "accepted", noun="lead", better="up"),
    Figure("Rejected", "rejected", noun="lead", better="down"),
    Figure("Acceptance rate", "acceptance_rate", "percent", better="up"),
]
SCORING = [
    Figure("AUC for SQL (latest version)", "auc_sql", "score", better="up"),
    Figure("AUC for Won", "auc_won", "score", better="up"),
]
DISTRIBUTION = [
    Figure("Reps given leads", "reps", noun="rep"),
    Figure("Most to one rep", "most", noun="lead"),
    Figure("Fewest to one rep", "fewest", noun="lead"),
]


PANELS: dict[str, tuple[str, Callable, list[Figure]]] = {
    "funnel": ("Funnel and outcomes", lambda f, t: reports.funnel(f), FUNNEL),
    "handoff": ("Handoff quality", lambda f, t: reports.handoff_quality(f), HANDOFF),
    "scoring": ("Does the scoring work?", lambda f, t: reports.scoring(f), SCORING),
    "distribution": ("Fair distribution", lambda f, t: reports.distribution(f), DISTRIBUTION),
}


@capability_required("view_dashboards")
def report_panel(request: HttpRequest, name: str) -> HttpResponse:
    if name not in PANELS:
        raise Http404("No such report.")
    title, build, figures = PANELS[name]
    return render_report(
        request,
        url_name="leads:report_panel",
        url_kwargs={"name": name},
        title=title,
        build=build,
        figures=figures,
        page_template="leads/report_panel.html",
    )
