"""The arbiter's queue and decisions, and the clock panel the lead page loads."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from alignment import clock, errors
from alignment.models import User
from alignment.permissions import capability_required
from leads import selectors as lead_selectors
from leads.assignment import team_reps
from leads.models import Lead
from sla.arbiter import case_decide
from sla.models import DECISIONS_FOR, ArbiterCase, Clock, ClockEvent, Decision

CASE_RELATED = (
    "lead__owner",
    "lead__team",
    "lead__rejection_reason",
    "clock__owner",
    "dispute__raised_by",
    "decided_by",
)


def _queue(decided: bool):
    qs = ArbiterCase.objects.select_related(*CASE_RELATED)
    if decided:
        return qs.filter(decided_at__isnull=False).order_by("-decided_at", "-id")
    return qs.filter(decided_at__isnull=True).order_by("opened_at", "id")


@capability_required("arbitrate")
def queue(request: HttpRequest) -> HttpResponse:
    decided = request.GET.get("show") == "decided"
    page = Paginator(_queue(decided), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "sla/arbiter_queue.html",
        {"page": page, "cases": page.object_list, "decided": decided, "now": clock.now()},
    )


@capability_required("arbitrate")
def queue_panel(request: HttpRequest) -> HttpResponse:
    """The arbiter's home card."""
    open_cases = ArbiterCase.objects.filter(decided_at__isnull=True)
    return render(
        request,
        "sla/_arbiter_panel.html",
        {
            "open": open_cases.count(),
            "oldest": open_cases.order_by("opened_at").values_list("opened_at", flat=True).first(),
        },
    )


def _case_context(case: ArbiterCase) -> dict:
    lead = (
        Lead.objects.select_related(*lead_selectors.LIST_RELATED)
        .prefetch_related("events__actor", "touches__by")
        .get(pk=case.lead_id)
    )
    clocks = list(
        Clock.objects.filter(lead_id=case.lead_id)
        .select_related("owner", "goal")
        .prefetch_related(Prefetch("events", queryset=ClockEvent.objects.select_related("actor")))
        .order_by("started_at")
    )
    # Whom the lead may go to: the one rule of leads.services.lead_reassign.
    reps = list(team_reps(lead.team_id).exclude(pk=lead.owner_id).order_by("first_name"))
    return {
        "case": case,
        "lead": lead,
        "clocks": clocks,
        "reps": reps,
        "decisions": [(d, Decision(d).label) for d in DECISIONS_FOR[case.kind]],
        "can_extend": case.clock_id is not None and not case.clock.extended,
    }


@capability_required("arbitrate")
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(ArbiterCase.objects.select_related(*CASE_RELATED), pk=pk)
    return render(request, "sla/arbiter_case.html", _case_context(case))


@require_POST
@capability_required("arbitrate")
def case_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(ArbiterCase.objects.select_related(*CASE_RELATED), pk=pk)
    to = None
    if request.POST.get("to", "").isdigit():
        to = User.objects.select_related("team").filter(pk=int(request.POST["to"])).first()
    _, refused = errors.attempt(
        lambda: case_decide(
            case=case,
            by=request.user,
            decision=request.POST.get("decision", ""),
            reason=request.POST.get("reason", ""),
            now=clock.now(),
            to=to,
            extend_hours=request.POST.get("extend_hours") or None,
        )
    )
    error, status = (refused.message, refused.status) if refused else (None, 200)
    if error:
        case.refresh_from_db()
        context = _case_context(case)
        context.update({"error": error, "posted": request.POST})
        return render(request, "sla/arbiter_case.html", context, status=status)
    messages.success(request, f"Decision recorded for {case.lead}.")
    return redirect("sla:arbiter_queue")


@login_required
def lead_clocks(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The clock history panel of a lead page (loaded by URL with htmx)."""
    if not lead_selectors.visible_leads(request.user).filter(pk=lead_id).exists():
        raise Http404("No such lead.")
    clocks = list(
        Clock.objects.filter(lead_id=lead_id)
        .select_related("owner", "goal")
        .prefetch_related(Prefetch("events", queryset=ClockEvent.objects.select_related("actor")))
        .order_by("started_at")
    )
    return render(request, "sla/_lead_clocks.html", {"clocks": clocks, "now": clock.now()})
