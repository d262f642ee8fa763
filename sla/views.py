"""SLA pages. Sections: business calendars (below).

Views parse input, call one service or selector, render. Every form works as a
plain post; htmx swaps the same template's partials where it saves a reload.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from alignment import clock
from sla import selectors, services
from sla.calendars import NoWorkingTime, add_business_time, is_open, next_open
from sla.forms import CalendarForm, ClosureForm, DeadlineForm, WeekForm
from sla.models import BusinessCalendar, Closure

# --- business calendars ------------------------------------------------------


def _apply_errors(form, error: ValidationError) -> None:
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


def _calendar_or_404(pk: int) -> BusinessCalendar:
    calendar = selectors.calendar_with_details(pk).first()
    if calendar is None:
        raise Http404("No such calendar.")
    return calendar


def _editable_calendar_or_403(request: HttpRequest, pk: int) -> BusinessCalendar:
    calendar = _calendar_or_404(pk)
    if not selectors.can_edit_calendar(request.user, calendar):
        raise PermissionDenied("Only this team's manager, or an admin, may edit its calendar.")
    return calendar


@login_required
def calendar_list(request: HttpRequest) -> HttpResponse:
    calendars = list(selectors.calendar_list())
    rows = [
        (calendar, selectors.week_summary(selectors.week_rows(calendar))) for calendar in calendars
    ]
    return render(
        request,
        "sla/calendar_list.html",
        {
            "rows": rows,
            "teams_without": selectors.teams_without_calendar(),
            "may_create": selectors.teams_user_may_give_a_calendar(request.user).exists()
            or request.user.has_perm("alignment.manage_organisation"),
            "default_week": selectors.DEFAULT_WEEK,
        },
    )


def _deadline(calendar: BusinessCalendar, hours: Decimal) -> dict:
    spec = selectors.calendar_spec(calendar)
    now = clock.now()
    try:
        due = add_business_time(spec, now, timedelta(hours=float(hours)))
    except NoWorkingTime as e:
        return {"hours": hours, "error": str(e)}
    return {"hours": hours, "due": due, "from": now}


@login_required
def calendar_detail(request: HttpRequest, pk: int) -> HttpResponse:
    calendar = _calendar_or_404(pk)
    today = clock.now().astimezone(selectors.calendar_spec(calendar).zone).date()
    deadline_form = DeadlineForm(request.GET if "hours" in request.GET else None)
    deadline = None
    if deadline_form.is_bound and deadline_form.is_valid():
        deadline = _deadline(calendar, deadline_form.cleaned_data["hours"])
    context = {
        "calendar": calendar,
        "deadline_form": deadline_form,
        "deadline": deadline,
    }
    if request.htmx:
        return render(request, "sla/calendar_detail.html#deadline-result", context)
    spec = selectors.calendar_spec(calendar)
    now = clock.now()
    try:
        opens_at = None if is_open(spec, now) else next_open(spec, now)
    except NoWorkingTime:
        opens_at = None
    context |= {
        "week": selectors.week_rows(calendar),
        "holidays": selectors.upcoming_holidays(calendar, start=today),
        "closures": selectors.upcoming_closures(calendar, today=today),
        "open_now": is_open(spec, now),
        "opens_at": opens_at,
        "now": now,
        "may_edit": selectors.can_edit_calendar(request.user, calendar),
    }
    return render(request, "sla/calendar_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def calendar_create(request: HttpRequest) -> HttpResponse:
    teams = selectors.teams_user_may_give_a_calendar(request.user)
    is_admin = request.user.has_perm("alignment.manage_organisation")
    if not is_admin and not teams.exists():
        raise PermissionDenied("Only a team's manager, or an admin, may create a calendar.")
    initial = {}
    first_team = teams.first()
    if first_team is not None:
        initial = {"name": f"{first_team.name} hours", "time_zone": first_team.time_zone}
        initial["team"] = first_team.pk
    form = CalendarForm(request.POST or None, initial=initial, team_choices=teams)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            calendar = services.calendar_create(
                by=request.user,
                name=data["name"],
                time_zone=data["time_zone"],
                team=data.get("team"),
                holiday_country=data["holiday_country"],
                holiday_subdivision=data["holiday_subdivision"],
                week=selectors.DEFAULT_WEEK,
            )
        except ValidationError as e:
            _apply_errors(form, e)
        else:
            messages.success(request, f"Calendar {calendar} created: Monday-Friday 09:00-17:00.")
            return redirect("sla:calendar_edit", pk=calendar.pk)
    status = 400 if form.is_bound else 200
    return render(request, "sla/calendar_create.html", {"form": form}, status=status)


def _edit_context(calendar: BusinessCalendar, **forms) -> dict:
    week = selectors.week_rows(calendar)
    today = clock.now().astimezone(selectors.calendar_spec(calendar).zone).date()
    return {
        "calendar": calendar,
        "settings_form": forms.get("settings_form")
        or CalendarForm(
            initial={
                "name": calendar.name,
                "time_zone": calendar.time_zone,
                "holiday_country": calendar.holiday_country,
                "holiday_subdivision": calendar.holiday_subdivision,
            }
        ),
        "week_form": forms.get("week_form") or WeekForm(initial=WeekForm.initial_for(week)),
        "closure_form": forms.get("closure_form") or ClosureForm(),
        "closures": selectors.upcoming_closures(calendar, today=today),
    }


@login_required
@require_http_methods(["GET", "POST"])
def calendar_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The editing page; its POST saves the calendar's name, zone and holidays."""
    calendar = _editable_calendar_or_403(request, pk)
    if request.method == "GET":
        return render(request, "sla/calendar_edit.html", _edit_context(calendar))
    form = CalendarForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.calendar_update(
                calendar=calendar,
                by=request.user,
                name=data["name"],
                time_zone=data["time_zone"],
                holiday_country=data["holiday_country"],
                holiday_subdivision=data["holiday_subdivision"],
            )
        except ValidationError as e:
            _apply_errors(form, e)
        else:
            messages.success(request, "Calendar saved. Running clocks follow the new settings.")
            return redirect("sla:calendar_edit", pk=pk)
    return render(
        request, "sla/calendar_edit.html", _edit_context(calendar, settings_form=form), status=400
    )


@login_required
@require_POST
def calendar_week(request: HttpRequest, pk: int) -> HttpResponse:
    calendar = _editable_calendar_or_403(request, pk)
    form = WeekForm(request.POST)
    if form.is_valid():
        try:
            services.calendar_set_week(
                calendar=calendar, by=request.user, week=form.cleaned_data["week"]
            )
        except ValidationError as e:
            form.add_service_errors(e.message_dict.get("intervals", e.messages))
        else:
            messages.success(request, "Working hours saved. Running clocks follow the new hours.")
            return redirect("sla:calendar_edit", pk=pk)
    return render(
        request, "sla/calendar_edit.html", _edit_context(calendar, week_form=form), status=400
    )


@login_required
@require_POST
def closure_add(request: HttpRequest, pk: int) -> HttpResponse:
    calendar = _editable_calendar_or_403(request, pk)
    form = ClosureForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            closure = services.closure_add(
                calendar=calendar,
                by=request.user,
                first_day=data["first_day"],
                last_day=data["last_day"],
                reason=data["reason"],
            )
        except ValidationError as e:
            _apply_errors(form, e)
        else:
            if request.htmx:
                calendar = _calendar_or_404(pk)
                context = _edit_context(calendar) | {"added": closure}
                return render(request, "sla/calendar_edit.html#closures", context)
            messages.success(request, f"Closure added: {closure}.")
            return redirect("sla:calendar_edit", pk=pk)
    context = _edit_context(calendar, closure_form=form)
    if request.htmx:
        # htmx swaps 2xx only; the errors are the content of the swap.
        return render(request, "sla/calendar_edit.html#closures", context)
    return render(request, "sla/calendar_edit.html", context, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def closure_remove(request: HttpRequest, pk: int, closure_pk: int) -> HttpResponse:
    """GET asks for confirmation; POST removes."""
    calendar = _editable_calendar_or_403(request, pk)
    closure = get_object_or_404(Closure, pk=closure_pk, calendar=calendar)
    if request.method == "POST":
        services.closure_remove(closure=closure, by=request.user)
        messages.success(request, f"Closure removed: {closure}.")
        return redirect(reverse("sla:calendar_edit", args=[pk]) + "#closures")
    return render(
        request, "sla/closure_confirm_remove.html", {"calendar": calendar, "closure": closure}
    )
