"""A person's weekly working hours in the browser: they, their team's manager or an
admin edit them (alignment.working_hours); a 400 names the day, a 403 anyone else."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from alignment import working_hours
from alignment.models import User


def _posted(post) -> dict:
    if post.get("action") == "always":
        return {}
    return {
        day: [post.get(f"{day}-start", ""), post.get(f"{day}-end", "")]
        for day in working_hours.DAYS
    }


@login_required
@require_http_methods(["GET", "POST"])
def hours(request: HttpRequest, user_id: int) -> HttpResponse:
    member = get_object_or_404(User.objects.select_related("team"), pk=user_id)
    if not working_hours.may_edit(request.user, member):
        raise PermissionDenied("Only the person, their team's manager or an admin.")
    errors: dict = {}
    shown = member.working_hours or working_hours.TYPICAL
    if request.method == "POST":
        posted = _posted(request.POST)
        try:
            working_hours.working_hours_set(member=member, by=request.user, hours=posted)
        except ValidationError as invalid:
            errors, shown = invalid.message_dict, posted
        else:
            messages.success(request, f"{member}: {working_hours.describe(member.working_hours)}.")
            return redirect("working_hours", user_id=member.pk)
    days = [
        (day, working_hours.DAY_NAMES[day], *(list(shown.get(day) or ["", ""]) + ["", ""])[:2])
        for day in working_hours.DAYS
    ]
    return render(
        request,
        "alignment/working_hours.html",
        {
            "member": member,
            "days": days,
            "errors": errors,
            "now_set": working_hours.describe(member.working_hours),
        },
        status=400 if errors else 200,
    )
