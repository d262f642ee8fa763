from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from alignment import clock, selectors, services
from alignment.home import cards_for
from alignment.models import User
from alignment.permissions import capability_required


@login_required
def home(request: HttpRequest) -> HttpResponse:
    heartbeat = (
        selectors.worker_heartbeat()
        if request.user.has_perm("alignment.manage_organisation")
        else None
    )
    return render(
        request,
        "alignment/home.html",
        {
            "role": request.user.role,
            "cards": cards_for(request.user.role),
            "heartbeat": heartbeat,
            "now": clock.now(),
        },
    )


@capability_required("manage_team")
def team(request: HttpRequest) -> HttpResponse:
    return render(
        request, "alignment/team.html", {"teams": selectors.teams_managed_by(request.user)}
    )


@require_POST
@capability_required("manage_team")
def member_away(request: HttpRequest, user_id: int) -> HttpResponse:
    member = get_object_or_404(User.objects.select_related("team"), pk=user_id)
    if request.POST.get("away") not in ("0", "1"):
        return HttpResponseBadRequest("Field 'away' must be 1 (away) or 0 (back).")
    away = request.POST["away"] == "1"
    services.member_set_away(member=member, away=away, by=request.user)
    if request.htmx:
        return render(request, "alignment/team.html#member-row", {"member": member})
    return redirect("team")


def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and `docker compose`: 200 when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return JsonResponse({"database": "down"}, status=503)
    return JsonResponse({"database": "ok"})
