"""Pages for one's own API tokens, and the admins' audit trail of configuration."""

from __future__ import annotations

import json
from itertools import chain

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from alignment import clock, tokens
from alignment.csvexport import csv_response
from alignment.inputs import query_date
from alignment.models import ApiToken, AuditEntry
from alignment.permissions import capability_required

AUDIT_PAGE = 50
AUDIT_EXPORT_MAX = 50_000


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    created, secret, errors = None, "", {}
    if request.method == "POST":
        try:
            days = int(request.POST.get("days") or tokens.DEFAULT_DAYS)
        except ValueError:
            days = -1
        try:
            created, secret = tokens.token_create(
                user=request.user, name=request.POST.get("name", ""), days=days
            )
        except ValidationError as error:
            errors = error.message_dict
    mine = ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id")
    return render(
        request,
        "alignment/tokens.html",
        {
            "tokens": mine,
            "created": created,
            "secret": secret,  # shown in this one answer, never again
            "errors": errors,
            "lifetimes": tokens.LIFETIMES,
            "default_days": tokens.DEFAULT_DAYS,
            "now": clock.now(),
        },
        status=400 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk)
    if token.user_id != request.user.pk:
        raise PermissionDenied("This is not your token.")
    if request.method == "POST":
        tokens.token_revoke(token=token, by=request.user)
        messages.success(request, f"Revoked “{token.name}”: it no longer opens the API.")
        return redirect("tokens")
    return render(request, "alignment/token_revoke.html", {"token": token})


def _audit_filters(request: HttpRequest) -> tuple[dict, dict[str, list[str]]]:
    params, errors, lookups = request.GET, {}, {}
    for name in ("actor", "action", "target_type"):
        value = params.get(name, "").strip()
        if value:
            lookups["actor_label" if name == "actor" else name] = value
    for name, lookup in (("since", "at__date__gte"), ("until", "at__date__lte")):
        if params.get(name):
            try:
                lookups[lookup] = query_date(params[name], name=name)
            except ValidationError as error:
                errors.update(error.message_dict)
    return lookups, errors


@require_safe
@capability_required("manage_organisation")
def audit_trail(request: HttpRequest) -> HttpResponse:
    lookups, errors = _audit_filters(request)
    entries = AuditEntry.objects.filter(**lookups).order_by("-at", "-id") if not errors else None
    if entries is not None and request.GET.get("export") == "csv":
        header = [["at", "who", "action", "type", "what", "id", "changes", "note"]]
        rows = (
            [
                e.at.isoformat(),
                e.actor_label,
                e.action,
                e.target_type,
                e.target_label,
                e.target_id,
                json.dumps(e.changes, ensure_ascii=False),
                e.note,
            ]
            for e in entries[:AUDIT_EXPORT_MAX].iterator()
        )
        return csv_response(f"audit-{clock.now():%Y%m%d-%H%M}.csv", chain(header, rows))
    page = Paginator(entries if entries is not None else AuditEntry.objects.none(), AUDIT_PAGE)
    page = page.get_page(request.GET.get("page"))
    choices = {
        "actions": AuditEntry.objects.order_by("action")
        .values_list("action", flat=True)
        .distinct(),
        "types": AuditEntry.objects.order_by("target_type")
        .values_list("target_type", flat=True)
        .distinct(),
    }
    return render(
        request,
        "alignment/audit.html",
        {
            "page": page,
            "items": page.object_list,
            "errors": errors,
            "params": request.GET,
            **choices,
        },
        status=400 if errors else 200,
    )
