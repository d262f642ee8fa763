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
    headline: Callable[[Report], list[tuple[str, str]]],
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
    context = {
        "title": title,
        "report": report,
        "headline": headline(report),
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


def _funnel_headline(report: Report) -> list[tuple[str, str]]:
    f = report.figures
    return [
        ("MQLs handed off", str(f["mql"])),
        ("MQL → Won", _pct(f["mql_to_won_rate"])),
        ("Win rate (of closed)", _pct(f["win_rate"])),
        ("No-decision rate", _pct(f["no_decision_rate"])),
        ("Revenue won from them", f"{f['won_amount']:,.0f}"),
    ]


def _handoff_headline(report: Report) -> list[tuple[str, str]]:
    f = report.figures
    return [
        ("Handed off", str(f["handed_off"])),
        ("Accepted", str(f["accepted"])),
        ("Rejected", str(f["rejected"])),
        ("Acceptance rate", _pct(f["acceptance_rate"])),
    ]


def _scoring_headline(report: Report) -> list[tuple[str, str]]:
    f = report.figures
    text = "–" if f["auc_sql"] is None else f"{f['auc_sql']:.3f}"
    won = "–" if f["auc_won"] is None else f"{f['auc_won']:.3f}"
    return [("AUC for SQL (latest version)", text), ("AUC for Won", won)]


def _distribution_headline(report: Report) -> list[tuple[str, str]]:
    f = report.figures
    return [
        ("Reps given leads", str(f["reps"])),
        ("Most to one rep", str(f["most"])),
        ("Fewest to one rep", str(f["fewest"])),
    ]


PANELS: dict[str, tuple[str, Callable, Callable]] = {
    "funnel": ("Funnel and outcomes", lambda f, t: reports.funnel(f), _funnel_headline),
    "handoff": ("Handoff quality", lambda f, t: reports.handoff_quality(f), _handoff_headline),
    "scoring": ("Does the scoring work?", lambda f, t: reports.scoring(f), _scoring_headline),
    "distribution": (
        "Fair distribution",
        lambda f, t: reports.distribution(f),
        _distribution_headline,
    ),
}


@capability_required("view_dashboards")
def report_panel(request: HttpRequest, name: str) -> HttpResponse:
    if name not in PANELS:
        raise Http404("No such report.")
    title, build, headline = PANELS[name]
    return render_report(
        request,
        url_name="leads:report_panel",
        url_kwargs={"name": name},
        title=title,
        build=build,
        headline=headline,
        page_template="leads/report_panel.html",
    )
