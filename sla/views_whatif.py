"""The what-if of an agreement: its page, and the panel the draft and signing pages load.

GET shows what is kept for the period and teams asked (nothing is started by a
read); POST asks for it (sla.whatif.whatif_request: kept, or queued once) and
comes back to the GET, which polls the panel while the worker replays.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from alignment import clock
from alignment.models import Side, Team
from sla import agreements, whatif
from sla.models import ReplayState


def _period(data: QueryDict) -> whatif.Period:
    return whatif.replay_period(
        start=data.get("start"), end=data.get("end"), teams=data.getlist("teams"), now=clock.now()
    )


def _query(period: whatif.Period) -> str:
    return urlencode(
        [("start", period.start), ("end", period.end), *(("teams", t) for t in period.team_ids)]
    )


@login_required
@require_http_methods(["GET", "POST"])
def agreement_whatif(request: HttpRequest, pk: int) -> HttpResponse:
    if not agreements.can_draft(request.user):
        raise PermissionDenied("Only marketers and managers, who draft and sign, see a what-if.")
    agreement = get_object_or_404(whatif.with_terms(), pk=pk)
    data = request.POST if request.method == "POST" else request.GET
    context = {
        "agreement": agreement,
        "teams": Team.objects.filter(side=Side.SALES).order_by("name"),
        "form": data,
        "max_days": whatif.MAX_DAYS,
    }
    try:
        period = _period(data)
    except ValidationError as error:
        context["errors"] = error.message_dict
        return render(request, "sla/agreement_whatif.html", context, status=400)
    if request.method == "POST":
        whatif.whatif_request(agreement=agreement, period=period, by=request.user, now=clock.now())
        url = reverse("sla:agreement_whatif", args=[agreement.pk]) + "?" + _query(period)
        return redirect(url)
    in_force = whatif.in_force_version()
    row = whatif.kept(agreement=agreement, period=period, base=in_force)
    context.update(
        {
            "period": period,
            "query": _query(period),
            "replay": row,
            "running": row is not None and row.state == ReplayState.RUNNING,
            "shown": whatif.side_by_side(row.result)
            if row is not None and row.result and row.result.get("draft")
            else None,
            "in_force": in_force,
            "rep_hours_caveat": whatif.rep_hours_caveat(agreement, in_force),
            # Loaded into the draft's and the signing page: the last 90 days are replayed
            # as it loads (a POST), so nobody signs without the figures in front of them.
            "autostart": bool(request.htmx) and not data,
        }
    )
    template = "sla/agreement_whatif.html"
    if request.htmx:
        template += "#panel"
    return render(request, template, context)
