"""Merging a duplicate in the browser: a confirmation page showing both leads side by
side (GET), then the merge (POST), which lands on the lead kept."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from alignment import clock, errors
from leads import machine, merge
from leads.models import Lead
from leads.selectors import LIST_RELATED
from leads.stages import Action


@login_required
@require_http_methods(["GET", "POST"])
def lead_merge(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead.objects.select_related(*LIST_RELATED), pk=pk)
    refused = machine.refusal(lead, request.user, Action.MERGE)
    if isinstance(refused, PermissionDenied):
        raise refused
    if lead.merged_into_id:
        return redirect("leads:detail", pk=lead.merged_into_id)
    raw = request.POST.get("into") if request.method == "POST" else request.GET.get("into")
    if raw is None:
        raw = str(lead.duplicate_of_id or "")
    target, problem, status = None, "", 200
    if raw:
        try:
            target = merge.merge_target(lead=lead, into=raw)
        except ValidationError as invalid:
            problem, status = " ".join(invalid.message_dict.get("into", [])), 400
    if request.method == "POST" and target is not None:
        _, failed = errors.attempt(
            lambda: merge.lead_merge(lead=lead, into=target.pk, by=request.user, now=clock.now())
        )
        if failed is None:
            messages.success(request, f"Lead #{lead.pk} was merged into this one.")
            return redirect("leads:detail", pk=target.pk)
        problem, status = failed.message, failed.status
    pairs = [(lead, "Merged away"), (target, "Kept")] if target else []
    context = {"lead": lead, "target": target, "into": raw, "problem": problem, "pairs": pairs}
    return render(request, "leads/merge.html", context, status=status)
