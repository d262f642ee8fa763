"""The queues in the browser: the MQLs no rep could take yet, per team, oldest first,
each under its assignment deadline; its manager gives one to a rep by hand."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from alignment import clock
from alignment.models import User
from leads import selectors
from leads.assignment import lead_assign, team_reps
from leads.views import _act, _page


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    queues = selectors.queues_of(request.user)
    if not queues:
        raise PermissionDenied("Only a sales team's manager or an admin sees a queue.")
    key = request.GET.get("team") or queues[0][0]
    if key not in dict(queues):
        raise PermissionDenied("You do not manage that team.")
    page = _page(request, selectors.queued(key))
    if key == "none":
        reps = User.objects.none()
        for team_key, _ in queues[:-1]:
            reps = reps | team_reps(int(team_key))
    else:
        reps = team_reps(int(key))
    return render(
        request,
        "leads/queue.html",
        {
            "queues": queues,
            "key": key,
            "name": dict(queues)[key],
            "page": page,
            "leads": page.object_list,
            "reps": list(reps.select_related("team").distinct().order_by("first_name")),
            "now": clock.now(),
        },
    )


@require_POST
@login_required
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    to_id = request.POST.get("to", "")
    to = User.objects.filter(pk=int(to_id)).first() if to_id.isdigit() else None
    return _act(
        request,
        pk,
        lambda lead: lead_assign(lead=lead, to=to, by=request.user, now=clock.now()),
        f"assigned to {to}",
        "assign",
    )
