"""The SLA dashboard: a page of filters whose panels load themselves by URL.

The page itself reads only what the filter form offers; each panel (SLA
panels here, funnel, handoff and scoring panels from leads) is its own URL,
loaded with htmx and reloaded in place when a filter changes. Without
JavaScript the filter form is a plain GET and each panel opens as a page.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from alignment import clock, errors
from alignment.headline import Figure
from alignment.inputs import BoundedFormDateField
from alignment.permissions import capability_required
from alignment.roles import perm
from leads import report_filters
from leads.report_filters import FilterError
from leads.views_reports import filters_from, render_report
from sla import dashboard, review, saved_views
from sla.models import RevenueTarget, SavedView

SLA_PANELS = [
    ("breaches", "Breaches"),
    ("open", "Open breaches and stale leads, now"),
    ("speed", "Time to accept and to first touch"),
    ("attainment", "SLA attainment"),
    ("followup", "Follow-up and agreed pauses"),
    ("decisions", "Escalations and the arbiter's decisions"),
    ("commitment", "Marketing's commitment"),
    ("revenue", "One goal for both sides: revenue"),
]
LEADS_PANELS = ["funnel", "handoff", "scoring"]


PANELS = {
    "breaches": (
        lambda f, t: dashboard.breaches(f, t),
        [
            Figure("Breaches in the period", "breaches", noun="breach", better="down"),
            Figure("Open now", "open_breaches", noun="breach", compare=False),
        ],
    ),
    "open": (
        lambda f, t: dashboard.open_now(f),
        [
            Figure("Open breaches", "open_breaches", noun="breach", compare=False),
            Figure("Stale leads", "stale_leads", noun="lead", compare=False),
        ],
    ),
    "speed": (
        lambda f, t: dashboard.speed(f, t),
        [
            Figure("Median accept", "accept_median_hours", "hours", better="down"),
            Figure("Accept: 90th percentile", "accept_p90_hours", "hours", better="down"),
            Figure("Median first touch", "first_touch_median_hours", "hours", better="down"),
            Figure("First touch: 90th percentile", "first_touch_p90_hours", "hours", better="down"),
        ],
    ),
    "attainment": (
        lambda f, t: dashboard.attainment(f),
        [
            Figure(
                "Met on time",
                "attainment",
                "percent",
                better="up",
                previous_key="attainment_last_period",
            ),
        ],
    ),
    "followup": (
        lambda f, t: dashboard.followup(f, t),
        [
            Figure(
                "Follow-ups on time",
                "followup_attainment",
                "percent",
                better="up",
                previous_key="followup_attainment_last_period",
            ),
            Figure("Pauses", "pauses", noun="pause"),
            Figure("Business hours paused", "paused_hours", "hours"),
            Figure("Paused now", "paused_now", noun="lead", compare=False),
        ],
    ),
    "decisions": (
        lambda f, t: dashboard.decisions(f),
        [
            Figure("Escalations", "escalations", noun="escalation", better="down"),
            Figure("Disputes", "disputes", noun="dispute", better="down"),
            Figure("Decided", "decided", noun="case"),
            Figure("Still open", "still_open", noun="case", better="down"),
        ],
    ),
    # A month's commitment and a target's period are their own periods: no change shown.
    "commitment": (
        lambda f, t: dashboard.commitment(f),
        [
            Figure("Month", "month", "text", compare=False),
            Figure("Delivered", "delivered", noun="MQL", compare=False),
            Figure("Committed", "committed", noun="MQL", compare=False),
            Figure("Teams at risk", "at_risk", noun="team", compare=False),
        ],
    ),
    "revenue": (
        lambda f, t: dashboard.revenue(f),
        [
            Figure("Revenue won", "revenue", "money", better="up"),
            Figure("Shared target", "target", "money", compare=False),
            Figure("Of target", "target_pct", "percent", compare=False),
            Figure("Sourced by marketing", "marketing_share", "percent", better="up"),
        ],
    ),
}


@capability_required("view_dashboards")
def dashboard_page(request: HttpRequest) -> HttpResponse:
    try:
        filters, teams = filters_from(request)
    except FilterError as exc:
        return HttpResponseBadRequest(str(exc))
    query = urlencode(filters.as_query())
    panels = [
        (name, title, f"{reverse('sla:panel', kwargs={'name': name})}?{query}")
        for name, title in SLA_PANELS
    ] + [
        (name, name, f"{reverse('leads:report_panel', kwargs={'name': name})}?{query}")
        for name in LEADS_PANELS
    ]
    context = {
        "filters": filters,
        "query": query,
        "panels": panels,
        "may_set_target": request.user.has_perm(perm("manage_team")),
        "saved_views": [
            (view, saved_views.saved_view_url_query(view, clock.now().date()))
            for view in saved_views.saved_views_of(request.user)
        ],
        **report_filters.filter_choices(teams),
    }
    return render(request, "sla/dashboard.html", context)


@capability_required("view_dashboards")
def panel(request: HttpRequest, name: str) -> HttpResponse:
    if name not in PANELS:
        raise Http404("No such panel.")
    build, figures = PANELS[name]
    return render_report(
        request,
        url_name="sla:panel",
        url_kwargs={"name": name},
        title=dict(SLA_PANELS)[name],
        build=build,
        figures=figures,
        page_template="sla/dashboard_panel.html",
    )


# --- home cards ----------------------------------------------------------------------


@capability_required("view_dashboards")
def breaches_panel(request: HttpRequest) -> HttpResponse:
    """The manager's home card: breaches in the last 30 days, open now, stale now."""
    filters, teams = filters_from(request)
    report = dashboard.breaches(filters, teams)
    open_report = dashboard.open_now(filters)
    return render(
        request,
        "sla/_dash_summary.html",
        {
            "testid": "breaches-summary",
            "items": [
                ("breaches in 30 days", report.figures["breaches"]),
                ("open now", open_report.figures["open_breaches"]),
                ("stale leads", open_report.figures["stale_leads"]),
            ],
        },
    )


@capability_required("view_dashboards")
def commitment_panel(request: HttpRequest) -> HttpResponse:
    """The marketing manager's home card: this month's commitment per team."""
    filters, _teams = filters_from(request)
    report = dashboard.commitment(filters)
    items = [
        (f"{row[1]}: {row[4]} of {row[2]} MQLs · {row[9]}", None)
        for row in report.table("commitment").rows
        if row[0] == report.figures["month"]
    ]
    return render(
        request,
        "sla/_dash_summary.html",
        {"testid": "commitment-summary", "items": items, "empty": "No commitment figures yet."},
    )


# --- the shared revenue target -----------------------------------------------------------


class RevenueTargetForm(forms.Form):
    period_start = BoundedFormDateField(widget=forms.DateInput(attrs={"type": "date"}))
    period_end = BoundedFormDateField(widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(min_value=Decimal("0"), max_digits=14, decimal_places=2)
    note = forms.CharField(max_length=200, required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and start > end:
            raise forms.ValidationError("The period starts after it ends.")
        return data


@capability_required("view_dashboards")
def revenue_target(request: HttpRequest) -> HttpResponse:
    """Managers of either side set the one revenue goal both sides share."""
    if not request.user.has_perm(perm("manage_team")):
        raise PermissionDenied("Only managers set the shared revenue target.")
    form = RevenueTargetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            review.revenue_target_set(by=request.user, now=clock.now(), **form.cleaned_data)
        except review.ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "The shared revenue target is saved.")
            return redirect("sla:revenue_target")
    targets = RevenueTarget.objects.select_related("set_by")[:12]
    return render(request, "sla/dashboard_target.html", {"form": form, "targets": targets})


# --- the alignment review -------------------------------------------------------------------


class ReviewForm(forms.Form):
    held_on = BoundedFormDateField(widget=forms.DateInput(attrs={"type": "date"}))
    title = forms.CharField(max_length=200, required=False)


class DecisionForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Decision")


class ActionForm(forms.Form):
    text = forms.CharField(max_length=500, label="Action")
    owner = forms.ModelChoiceField(queryset=None, label="Owner")
    due_on = BoundedFormDateField(widget=forms.DateInput(attrs={"type": "date"}), label="Due")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from alignment.models import User

        self.fields["owner"].queryset = User.objects.filter(is_active=True).order_by(
            "first_name", "username"
        )


def _review_or_404(pk: int) -> review.Review:
    found = review.Review.objects.select_related("created_by").filter(pk=pk).first()
    if found is None:
        raise Http404("No such review.")
    return found


@capability_required("view_dashboards")
def review_list(request: HttpRequest) -> HttpResponse:
    """Past reviews, and a form that prepares the next one from the current filters."""
    try:
        filters, teams = filters_from(request)
    except FilterError as exc:
        return HttpResponseBadRequest(str(exc))
    form = ReviewForm(request.POST or None, initial={"held_on": clock.now().date()})
    if request.method == "POST" and form.is_valid():
        created = review.review_create(
            by=request.user, filters=filters, teams=teams, now=clock.now(), **form.cleaned_data
        )
        return redirect("sla:review_detail", pk=created.pk)
    reviews = review.Review.objects.select_related("created_by")[:50]
    return render(
        request,
        "sla/review_list.html",
        {
            "form": form,
            "reviews": reviews,
            "filters": filters,
            "query": urlencode(filters.as_query()),
            "carried": review.open_actions(),
        },
    )


def _detail_context(request, found, **forms_) -> dict:
    return {
        "review": found,
        "decisions": list(found.decisions.select_related("recorded_by")),
        "actions": list(found.actions.select_related("owner", "carried_from__review")),
        "decision_form": forms_.get("decision_form") or DecisionForm(),
        "action_form": forms_.get("action_form")
        or ActionForm(initial={"due_on": review.default_due_on(found, clock.now().date())}),
    }


@capability_required("view_dashboards")
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = _review_or_404(pk)
    return render(request, "sla/review_detail.html", _detail_context(request, found))


def _post_only(request):
    if request.method != "POST":
        raise Http404("Post the form.")


@capability_required("view_dashboards")
def review_decision(request: HttpRequest, pk: int) -> HttpResponse:
    _post_only(request)
    found = _review_or_404(pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            review.decision_record(
                review=found, by=request.user, text=form.cleaned_data["text"], now=clock.now()
            )
            return redirect("sla:review_detail", pk=pk)
        except review.ValidationError as exc:
            form.add_error(None, exc)
    return render(
        request,
        "sla/review_detail.html",
        _detail_context(request, found, decision_form=form),
        status=400,
    )


@capability_required("view_dashboards")
def review_action(request: HttpRequest, pk: int) -> HttpResponse:
    _post_only(request)
    found = _review_or_404(pk)
    form = ActionForm(request.POST)
    if form.is_valid():
        try:
            review.action_add(review=found, by=request.user, now=clock.now(), **form.cleaned_data)
            return redirect("sla:review_detail", pk=pk)
        except review.ValidationError as exc:
            form.add_error(None, exc)
    return render(
        request,
        "sla/review_detail.html",
        _detail_context(request, found, action_form=form),
        status=400,
    )


@capability_required("view_dashboards")
def review_action_status(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    _post_only(request)
    action = review.ReviewAction.objects.filter(pk=action_pk, review_id=pk).first()
    if action is None:
        raise Http404("No such action.")
    try:
        changed = review.action_set_status(
            action=action, by=request.user, status=request.POST.get("status", ""), now=clock.now()
        )
    except review.ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages))
    if not changed:
        messages.warning(request, "That action was already closed.")
    return redirect("sla:review_detail", pk=pk)


@capability_required("view_dashboards")
def review_close(request: HttpRequest, pk: int) -> HttpResponse:
    _post_only(request)
    review.review_close(review=_review_or_404(pk), by=request.user, now=clock.now())
    return redirect("sla:review_detail", pk=pk)


# --- saved views ------------------------------------------------------------------


@require_POST
@capability_required("view_dashboards")
def saved_view_save(request: HttpRequest) -> HttpResponse:
    """Save the dashboard's current filters under a name (the form posts them)."""
    try:
        filters = report_filters.parse_filters(
            request.POST, user=request.user, teams=report_filters.sales_teams()
        )
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc
    except FilterError as exc:
        return HttpResponseBadRequest(str(exc))
    view, refused = errors.attempt(
        lambda: saved_views.saved_view_create(
            owner=request.user, name=request.POST.get("name", ""), filters=filters, now=clock.now()
        )
    )
    if refused is not None:
        return HttpResponse(refused.message, status=refused.status, content_type="text/plain")
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(f"{reverse('sla:dashboard')}?{urlencode(filters.as_query())}")


@require_POST
@capability_required("view_dashboards")
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk)
    _, refused = errors.attempt(lambda: saved_views.saved_view_delete(view=view, by=request.user))
    if refused is not None:
        raise PermissionDenied(refused.message)
    messages.success(request, f"Deleted the view “{view.name}”.")
    return redirect("sla:dashboard")
