"""The page where a rep pauses a lead's deadlines on a condition the agreement names.

Thin: who may and whether the lead may be paused now are the lead state
machine's answer (the same one the inbox's "Pause…" link follows); the
conditions offered are those of the agreement the lead's clocks run under.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from alignment import clock, errors
from leads import machine
from leads import selectors as lead_selectors
from leads.models import Lead
from leads.stages import Action
from sla import pauses


def _back(request: HttpRequest, lead: Lead) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return reverse("leads:detail", args=[lead.pk])


@login_required
@require_http_methods(["GET", "POST"])
def lead_pause(request: HttpRequest, lead_id: int) -> HttpResponse:
    lead = (
        lead_selectors.visible_leads(request.user)
        .select_related("owner", "team")
        .filter(pk=lead_id)
        .first()
    )
    if lead is None:
        raise Http404("No such lead, or not one you may see.")
    status, problem, invalid = 200, None, {}
    if request.method == "POST":
        pause, refused = errors.attempt(
            lambda: pauses.lead_pause(
                lead=lead,
                by=request.user,
                condition=request.POST.get("condition"),
                note=request.POST.get("note", ""),
                now=clock.now(),
            )
        )
        if refused is None:
            zone = ZoneInfo(request.user.zone_name)
            messages.success(
                request,
                f"{lead}: paused ({pause.reason}) until the next touch, at most until "
                f"{pause.ends_at.astimezone(zone):%a %d %b %H:%M} (your time).",
            )
            return redirect(_back(request, lead))
        if refused.status == 403:
            raise PermissionDenied(refused.message)
        status, problem, invalid = refused.status, refused.message, refused.errors
        lead.refresh_from_db()
    else:
        refused = machine.refusal(lead, request.user, Action.PAUSE)
        if isinstance(refused, PermissionDenied):
            raise refused
        problem = str(refused) if refused is not None else None
    return render(
        request,
        "sla/lead_pause.html",
        {
            "lead": lead,
            "conditions": pauses.conditions_for(lead),
            "problem": problem,
            "invalid": invalid,
            "posted": request.POST,
            "next": _back(request, lead),
            "may_pause": machine.refusal(lead, request.user, Action.PAUSE) is None,
        },
        status=status,
    )
