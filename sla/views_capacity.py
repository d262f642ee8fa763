"""The shared campaign calendar (month and week views) beside each sales team's capacity."""

from __future__ import annotations

import calendar as months
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from alignment import clock
from alignment.inputs import query_date
from sla import capacity


@login_required
@require_GET
def campaign_calendar(request: HttpRequest) -> HttpResponse:
    view = request.GET.get("view") or "month"
    errors = {}
    if view not in ("month", "week"):
        errors["view"] = f"{view!r} is not a view: month or week."
    try:
        day = query_date(request.GET.get("date") or clock.now().date().isoformat(), name="date")
    except ValidationError as error:
        errors["date"] = error.message_dict["date"][0]
    if errors:
        return render(request, "sla/campaign_calendar.html", {"errors": errors}, status=400)
    if view == "month":
        first = day.replace(day=1)
        last = first.replace(day=months.monthrange(first.year, first.month)[1])
        before, after = first - timedelta(days=1), last + timedelta(days=1)
        title = f"{first:%B %Y}"
    else:
        first = capacity.monday(day)
        last = first + timedelta(days=6)
        before, after = first - timedelta(days=7), first + timedelta(days=7)
        title = f"Week of {first:%d %b %Y}"
    by_team = capacity.load(first=first, last=last)
    weeks = capacity.weeks(first, last)
    rows = [
        {"week": week, "teams": [by_team[t][n] for t in by_team]} for n, week in enumerate(weeks)
    ]
    return render(
        request,
        "sla/campaign_calendar.html",
        {
            "view": view,
            "title": title,
            "rows": rows,
            "before": before,
            "after": after,
            "day": day,
            "warnings": [tw for row in rows for tw in row["teams"] if tw.overloaded],
        },
    )
