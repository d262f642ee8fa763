"""Campaign pages: the list with how each did, and the plan form (new and edit).

Thin: a POST is parsed into a dict, one service saves it (refusals come back by
field, the form shown again with a 400), then back to the list.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from alignment import clock
from alignment.models import Side, Team
from alignment.permissions import capability_required
from leads import campaigns
from leads.models import Campaign, Channel


def _posted(request: HttpRequest) -> dict:
    data = {name: request.POST.get(name, "") for name in campaigns.FIELDS}
    data["target_teams"] = request.POST.getlist("target_teams")
    return data


def _form(request, *, campaign: Campaign | None, data: dict, errors: dict, status: int):
    chosen = {str(t) for t in data.get("target_teams", [])}
    return render(
        request,
        "leads/campaign_form.html",
        {
            "campaign": campaign,
            "data": data,
            "errors": errors,
            "channels": Channel.choices,
            "teams": Team.objects.filter(side=Side.SALES).order_by("name"),
            "chosen": chosen,
        },
        status=status,
    )


@login_required
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    today = clock.now().date()
    results = campaigns.campaign_results(campaigns.campaign_list(), today=today)
    return render(
        request,
        "leads/campaign_list.html",
        {"results": results, "can_plan": campaigns.can_plan(request.user), "today": today},
    )


@capability_required("import_leads")
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _form(request, campaign=None, data={"channel": "other"}, errors={}, status=200)
    data = _posted(request)
    try:
        made = campaigns.campaign_create(by=request.user, data=data, now=clock.now())
    except ValidationError as error:
        return _form(request, campaign=None, data=data, errors=error.message_dict, status=400)
    return _to_calendar(made)


@capability_required("import_leads")
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.prefetch_related("target_teams"), pk=pk)
    if request.method == "GET":
        data = {name: getattr(campaign, name) for name in campaigns.FIELDS}
        data["target_teams"] = [t.pk for t in campaign.target_teams.all()]
        return _form(request, campaign=campaign, data=data, errors={}, status=200)
    data = _posted(request)
    try:
        campaigns.campaign_update(campaign=campaign, by=request.user, data=data, now=clock.now())
    except ValidationError as error:
        return _form(request, campaign=campaign, data=data, errors=error.message_dict, status=400)
    return _to_calendar(campaign)


def _to_calendar(campaign: Campaign) -> HttpResponse:
    """Saved: the month it starts, on the shared calendar, where an overload shows."""
    return redirect(reverse("sla:campaign_calendar") + f"?view=month&date={campaign.starts_on}")
