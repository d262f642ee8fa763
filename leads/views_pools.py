"""Pools of reps in the browser: the list, the form (new and edit) and deletion
after a confirmation. An admin or a sales manager; each change audited
(leads.pools)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from leads import pools
from leads.models import RepPool
from leads.routing import can_edit


def _require_editor(request: HttpRequest) -> None:
    if not can_edit(request.user):
        raise PermissionDenied("Only an admin or a sales manager manages pools.")


def _live() -> QuerySet[RepPool]:
    return RepPool.objects.filter(deleted_at__isnull=True)


def _form(request, *, pool: RepPool | None, name: str, chosen, errors=None, status=200):
    return render(
        request,
        "leads/pool_form.html",
        {
            "pool": pool,
            "name": name,
            "chosen": {str(c) for c in chosen},
            "reps": pools.pool_reps(),
            "errors": errors or {},
        },
        status=status,
    )


@login_required
@require_GET
def pool_list(request: HttpRequest) -> HttpResponse:
    """The pools, each with its reps and their weights."""
    _require_editor(request)
    listed = _live().prefetch_related("members").order_by("name")
    return render(request, "leads/pool_list.html", {"pools": listed})


@login_required
@require_http_methods(["GET", "POST"])
def pool_new(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    if request.method == "POST":
        return _save(request, pool=None)
    return _form(request, pool=None, name="", chosen=[])


@login_required
@require_http_methods(["GET", "POST"])
def pool_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    pool = get_object_or_404(_live(), pk=pk)
    if request.method == "POST":
        return _save(request, pool=pool)
    members = pool.members.values_list("pk", flat=True)
    return _form(request, pool=pool, name=pool.name, chosen=members)


def _save(request: HttpRequest, *, pool: RepPool | None) -> HttpResponse:
    name, chosen = request.POST.get("name", ""), request.POST.getlist("members")
    try:
        saved = pools.pool_save(by=request.user, name=name, member_ids=chosen, pool=pool)
    except ValidationError as invalid:
        errors = invalid.message_dict
        return _form(request, pool=pool, name=name, chosen=chosen, errors=errors, status=400)
    messages.success(request, f"Pool {saved.name} saved.")
    return redirect("leads:pools")


@login_required
@require_http_methods(["GET", "POST"])
def pool_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation (naming the rules that still use it); POST deletes."""
    _require_editor(request)
    pool = get_object_or_404(_live(), pk=pk)
    using = pools.rules_using(pool)
    errors: dict = {}
    if request.method == "POST":
        try:
            pools.pool_delete(by=request.user, pool=pool)
        except ValidationError as invalid:
            errors = invalid.message_dict
        else:
            messages.success(request, f"Pool {pool.name} deleted.")
            return redirect("leads:pools")
    return render(
        request,
        "leads/pool_delete.html",
        {"pool": pool, "using": using, "errors": errors},
        status=400 if errors else 200,
    )
