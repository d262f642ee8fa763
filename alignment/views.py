from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from alignment import clock, selectors, services
from alignment import notifications as notifications_service
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


@require_POST
@capability_required("manage_team")
def member_routing(request: HttpRequest, user_id: int) -> HttpResponse:
    """A rep's capacity and round-robin weight (400 naming the field, 403 not your team)."""
    from django.core.exceptions import ValidationError

    member = get_object_or_404(User.objects.select_related("team"), pk=user_id)
    values = {n: request.POST.get(n, "") for n in services.ROUTING_FIELDS if n in request.POST}
    try:
        changed = services.member_set_routing(member=member, by=request.user, **values)
    except ValidationError as invalid:
        errors = invalid.message_dict
        if request.htmx:
            context = {"member": member, "routing_errors": errors}
            return render(request, "alignment/team.html#member-row", context, status=400)
        return render(
            request,
            "alignment/team.html",
            {"teams": selectors.teams_managed_by(request.user), "routing_errors": errors},
            status=400,
        )
    if changed:
        messages.success(request, f"{member}: routing saved.")
    if request.htmx:
        return render(request, "alignment/team.html#member-row", {"member": member})
    return redirect("team")


@login_required
def time_off(request: HttpRequest, user_id: int) -> HttpResponse:
    """A person's days off, booked ahead: they, their team's manager or an admin add them."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from alignment.models import TimeOff

    member = get_object_or_404(User.objects.select_related("team"), pk=user_id)
    if not services._may_plan_for(request.user, member):
        raise PermissionDenied("Only the person, their team's manager or an admin.")
    errors: dict = {}
    status = 200
    if request.method == "POST":
        try:
            services.time_off_add(
                member=member,
                by=request.user,
                first_day=request.POST.get("first_day", ""),
                last_day=request.POST.get("last_day", ""),
                note=request.POST.get("note", ""),
            )
        except ValidationError as invalid:
            errors, status = invalid.message_dict, 400
        else:
            messages.success(request, f"{member}: time off booked.")
            return redirect("time_off", user_id=member.pk)
    entries = TimeOff.objects.filter(person=member, last_day__gte=clock.now().date())
    return render(
        request,
        "alignment/time_off.html",
        {"member": member, "entries": entries, "errors": errors, "posted": request.POST},
        status=status,
    )


@require_POST
@login_required
def time_off_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    from alignment.models import TimeOff

    entry = get_object_or_404(TimeOff.objects.select_related("person__team"), pk=pk)
    services.time_off_remove(entry=entry, by=request.user)
    messages.success(request, f"{entry.person}: time off cancelled.")
    return redirect("time_off", user_id=entry.person_id)


@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and `docker compose`: 200 when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return JsonResponse({"database": "down"}, status=503)
    return JsonResponse({"database": "ok"})


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    from django.core.paginator import Paginator

    from alignment.models import Notification

    if request.method == "POST":
        form_kind = request.POST.get("form")
        if form_kind == "read":
            ids = request.POST.getlist("id")
            if ids and not all(i.isdigit() for i in ids):
                return HttpResponseBadRequest("Field 'id' must be notification ids.")
            notifications_service.mark_read(user=request.user, ids=[int(i) for i in ids] or None)
        elif form_kind == "preference":
            choice = request.POST.get("email_notifications", "")
            valid = dict(User._meta.get_field("email_notifications").choices)
            if choice not in valid:
                return HttpResponseBadRequest(
                    "Field 'email_notifications' must be one of: " + ", ".join(valid)
                )
            User.objects.filter(pk=request.user.pk).update(email_notifications=choice)
            messages.success(request, f"Email: {valid[choice].lower()}.")
        else:
            return HttpResponseBadRequest("Unknown form.")
        return redirect("notifications")
    page = Paginator(
        Notification.objects.filter(recipient=request.user).order_by("-created_at", "-id"), 25
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "alignment/notifications.html",
        {
            "page": page,
            "items": page.object_list,
            "choices": User._meta.get_field("email_notifications").choices,
        },
    )


@login_required
def notification_bell(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "alignment/_bell.html",
        {"unread": notifications_service.unread_count(request.user)},
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """One's own settings: the time zone every time is shown in."""
    from zoneinfo import available_timezones

    from django.core.exceptions import ValidationError

    errors: dict = {}
    status = 200
    if request.method == "POST":
        try:
            services.user_set_time_zone(
                user=request.user, time_zone=request.POST.get("time_zone", "")
            )
        except ValidationError as error:
            errors, status = error.message_dict, 400
        else:
            messages.success(request, f"Times are shown in {request.user.zone_name}.")
            return redirect("profile")
    team_zone = request.user.team.time_zone if request.user.team_id else "UTC"
    return render(
        request,
        "alignment/profile.html",
        {
            "zones": sorted(available_timezones()),
            "team_zone": team_zone,
            "chosen": request.POST.get("time_zone", "") if errors else request.user.time_zone,
            "errors": errors,
        },
        status=status,
    )
