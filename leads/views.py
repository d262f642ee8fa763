"""The browser side of leads: the rep's inbox, the team's inbox, the lead page,
the came-back list, and the actions, each as a plain form post that htmx
upgrades to an in-place swap."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from alignment import clock, errors
from alignment.http import page_url
from alignment.models import User
from alignment.permissions import capability_required
from glossary.models import DefinitionVersion
from glossary.selectors import persona_messages_for, platform_in_force, reasons_in_force
from leads import machine, selectors, services
from leads.assignment import team_reps
from leads.definition_outcomes import definition_outcomes
from leads.machine import OPEN_STAGES, Stage
from leads.models import Lead, TouchKind, TouchOutcome
from leads.selectors import INBOX_SORTS

PAGE_SIZE = 25
INBOX_PAGE_SIZE = 50


class BoundedPaginator(Paginator):
    """Counts at most `cap` rows (COUNT over a LIMITed subquery): a rep with a
    hundred thousand leads pays for a page, not for the count."""

    cap = 1000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.cap + 1].count()

    @property
    def count_label(self) -> str:
        return f"more than {self.cap:,}" if self.count > self.cap else f"{self.count:,}"


def _page(request: HttpRequest, queryset, size: int = PAGE_SIZE, paginator=Paginator):
    return paginator(queryset, size).get_page(request.GET.get("page"))


def _options(choices, selected: str = "") -> str:
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, " selected" if selected and value == selected else "", label)
            for value, label in choices
        ),
    )


def _reason_options(selected: str = "") -> str:
    return _options(
        (
            (r.reason.code, f"{r.reason.label} (note needed)" if r.needs_note else r.reason.label)
            for r in reasons_in_force()
        ),
        selected,
    )


def _action_context(request: HttpRequest) -> dict:
    """What every lead row's forms need, built once per page rather than once per
    lead: the <option> lists, the CSRF field, and the leads' URL prefix (a row's
    action is `{{ lead_base }}{{ lead.pk }}/accept/`; reverse() and the CSRF tag
    in every form of every row were most of the inbox's render time)."""
    return {
        "lead_base": reverse("leads:detail", args=[0]).removesuffix("0/"),
        "csrf_input": format_html(
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)
        ),
        "reason_options": _reason_options(),
        "touch_kind_options": _options(TouchKind.choices),
        "touch_outcome_options": _options(TouchOutcome.choices),
        "next_url": page_url(request),
        "now": clock.now(),
    }


@capability_required("work_leads")
def inbox(request: HttpRequest) -> HttpResponse:
    """The rep's working list: compact rows, sorted and filtered by plain GET
    parameters (unknown values fall back to "any"), driven from the keyboard
    by static/js/inbox.js."""
    sources = selectors.inbox_sources(request.user)
    chosen = {
        "stage": request.GET.get("stage", "") if request.GET.get("stage") in OPEN_STAGES else "",
        "source": request.GET.get("source", "") if request.GET.get("source") in sources else "",
        "sort": request.GET.get("sort", "") if request.GET.get("sort") in INBOX_SORTS else "",
    }
    page = _page(
        request,
        selectors.inbox(request.user, **chosen),
        INBOX_PAGE_SIZE,
        paginator=BoundedPaginator,
    )
    return render(
        request,
        "leads/inbox.html",
        {
            "page": page,
            "leads": page.object_list,
            "chosen": chosen,
            "stages": [(s, Stage(s).label) for s in OPEN_STAGES],
            "sources": sources,
            "sorts": [(key, label) for key, (label, _) in INBOX_SORTS.items()],
            "filtered": any(chosen.values()),
            **_action_context(request),
        },
    )


@capability_required("manage_team")
def team_inbox(request: HttpRequest) -> HttpResponse:
    teams = machine.managed_teams(request.user)
    if not teams:
        return render(request, "leads/team_inbox.html", {"teams": [], "page": None})
    team = teams[0]
    if request.GET.get("team"):
        team = next((t for t in teams if str(t.pk) == request.GET["team"]), None)
        if team is None:
            raise PermissionDenied("You do not manage that team.")
    page = _page(request, selectors.team_inbox(team.pk))
    reps = list(team_reps(team.pk).order_by("first_name"))
    return render(
        request,
        "leads/team_inbox.html",
        {
            "teams": teams,
            "team": team,
            "page": page,
            "leads": page.object_list,
            "reps": reps,
            **_action_context(request),
        },
    )


@require_POST
@capability_required("manage_team")
def team_bulk(request: HttpRequest) -> HttpResponse:
    """Many leads reassigned or returned at once: the first post shows what will
    happen (nothing changes), the confirmed one does it, each lead through the
    state machine with its event (leads.services.leads_act_in_bulk)."""
    raw_ids = request.POST.getlist("lead")
    action = request.POST.get("action", "")
    context: dict = {"action": action, "note": request.POST.get("note", "")}
    problems: dict = {}
    if not all(v.isdigit() and len(v) < 12 for v in raw_ids):
        problems["leads"] = ["Field 'lead' must be lead ids."]
    lead_ids = [int(v) for v in raw_ids] if not problems else []
    to = _rep_to(request)
    context["to"] = to
    context["leads"] = list(
        Lead.objects.filter(pk__in=lead_ids[: services.BULK_MAX + 1])
        .select_related(*selectors.LIST_RELATED)
        .order_by("pk")
    )
    status = 200
    if not problems and request.POST.get("confirm") == "1":
        done, refused = errors.attempt(
            lambda: services.leads_act_in_bulk(
                lead_ids=lead_ids,
                action=action,
                by=request.user,
                to=to,
                now=clock.now(),
                note=context["note"],
            )
        )
        if refused is None:
            verb = services.BULK_ACTIONS[action]
            whom = f" to {to}" if action == "reassign" else ""
            messages.success(
                request, f"{len(done)} lead{'s' if len(done) != 1 else ''} {verb}{whom}."
            )
            target = request.POST.get("next", "")
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
                target = reverse("leads:team_inbox")
            return redirect(target)
        problems, status = refused.errors or {"__all__": [refused.message]}, refused.status
    elif not problems:
        if action not in services.BULK_ACTIONS:
            problems["action"] = ["Choose reassign or return to marketing."]
        if not lead_ids:
            problems["leads"] = ["Select at least one lead."]
        if action == "reassign" and to is None:
            problems["to"] = ["Choose the rep who takes these leads."]
    if problems:
        status = 400 if status == 200 else status
    context.update(
        errors=problems,
        action_label=services.BULK_ACTIONS.get(action, ""),
        next_url=request.POST.get("next", ""),
    )
    return render(request, "leads/team_bulk.html", context, status=status)


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    qs = selectors.visible_leads(request.user).select_related(*selectors.LIST_RELATED)
    stage = request.GET.get("stage", "")
    if stage:
        if stage not in Stage.values:
            stage = ""
        else:
            qs = qs.filter(stage=stage)
    if not stage:  # a merged duplicate only when asked for (its page leads to the lead kept)
        qs = qs.exclude(stage=Stage.MERGED)
    q = request.GET.get("q", "").strip()
    if q:
        qs = selectors.search(qs, q)
    if request.GET.get("stale") == "1":
        qs = qs.filter(stale_since__isnull=False)
    page = _page(request, qs.order_by("-created_at", "-id"))
    context = {
        "page": page,
        "leads": page.object_list,
        "stages": Stage.choices,
        "stage": stage,
        "q": q,
        "stale": request.GET.get("stale") == "1",
        "now": clock.now(),
    }
    if request.htmx and request.htmx.target == "lead-table":
        return render(request, "leads/list.html#lead-table", context)
    return render(request, "leads/list.html", context)


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        lead = selectors.lead_detail(pk, request.user, events=False)
    except Lead.DoesNotExist:
        raise Http404("No such lead, or not one you may see.") from None
    if lead.merged_into_id:
        messages.info(request, f"Lead #{lead.pk} was merged into #{lead.merged_into_id}.")
        return redirect("leads:detail", pk=lead.merged_into_id)
    return render(request, "leads/detail.html", _detail_context(request, lead))


def _detail_context(request, lead: Lead) -> dict:
    reps = []
    if "reassign" in machine.allowed_actions(lead, request.user):
        reps = list(team_reps(lead.team_id).exclude(pk=lead.owner_id))
    platform = platform_in_force()
    fields = {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields}
    return {
        "lead": lead,
        "timeline": selectors.timeline(lead),
        "duplicates": selectors.duplicates(lead),
        "open_dispute": next((d for d in lead.disputes.all() if d.status == "open"), None),
        "reps": reps,
        # What this lead's buyer persona should hear (the message platform in force).
        "platform": platform,
        "persona": persona_messages_for(platform, fields=fields, attributes=lead.attributes),
        **_action_context(request),
    }


@capability_required("dispute_rejections")
def came_back(request: HttpRequest) -> HttpResponse:
    page = _page(request, selectors.came_back())
    return render(request, "leads/came_back.html", {"page": page, "leads": page.object_list})


# -- actions -----------------------------------------------------------------


def _back(request: HttpRequest, lead: Lead) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return reverse("leads:detail", args=[lead.pk])


def _act(
    request: HttpRequest, pk: int, do: Callable[[Lead], object], done: str, name: str = ""
) -> HttpResponse:
    """Run one service; answer with the refreshed row (htmx) or a redirect (plain
    post). A refusal (alignment.errors): 400 bad input (shown inside the form `name`,
    which stays open with what was typed), 403 not yours, 409 the lead moved on.
    A 403 shows nothing of the lead: the person may not work it."""
    lead = get_object_or_404(Lead.objects.select_related(*selectors.LIST_RELATED), pk=pk)
    _, refused = errors.attempt(lambda: do(lead))
    invalid = refused.errors if refused else {}
    if request.htmx:
        if refused is not None and refused.status == 403:
            return render(request, "leads/_refused.html", {"error": refused.message}, status=403)
        lead = get_object_or_404(Lead.objects.select_related(*selectors.LIST_RELATED), pk=pk)
        template = (
            "leads/_lead_row.html"
            if request.POST.get("view") == "row"
            else "leads/_lead_actions.html"
        )
        response = render(
            request,
            template,
            {
                "lead": lead,
                "error": refused.message if refused else None,
                "done": None if refused else done,
                **_action_context(request),
                **_failed_form(request, name, invalid),
            },
            status=refused.status if refused else 200,
        )
        if not refused:
            response["HX-Trigger"] = "lead-changed"
        return response
    if refused:
        try:
            detail = selectors.lead_detail(pk, request.user)
        except Lead.DoesNotExist:
            raise PermissionDenied(refused.message) from None
        context = _detail_context(request, detail)
        context.update(error=refused.message, **_failed_form(request, name, invalid))
        return render(request, "leads/detail.html", context, status=refused.status)
    messages.success(request, f"{lead}: {done}")
    return redirect(_back(request, lead))


# The row's action forms that have fields a person can get wrong.
ROW_FORMS_WITH_FIELDS = ("reject", "touch", "close")


def _failed_form(request: HttpRequest, name: str, invalid: dict) -> dict:
    """For a 400: which action form failed, its fields in error and what was posted,
    so the row shows the error inside that form, open, with the person's input."""
    if not invalid or name not in ROW_FORMS_WITH_FIELDS:
        return {}  # shown above the row, as a 409 or 403 is
    return {
        "failed": name,
        "invalid": invalid,
        "posted": request.POST,
        "reason_options": _reason_options(request.POST.get("reason", "")),
    }


def _version(request: HttpRequest) -> int | None:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() else None


def _rep_to(request: HttpRequest) -> User | None:
    # None (not a person) is the service's 400, once it has asked who may reassign.
    to_id = request.POST.get("to", "")
    return User.objects.filter(pk=int(to_id)).first() if to_id.isdigit() else None


# Each browser action: the service it calls with the posted fields, and what
# the person is told when it worked. One view serves them all (_action_view).
ACTIONS = {
    "accept": (
        lambda r, lead, now: services.lead_accept(
            lead=lead, by=r.user, now=now, expected_version=_version(r)
        ),
        "accepted",
    ),
    "reject": (
        lambda r, lead, now: services.lead_reject(
            lead=lead,
            by=r.user,
            now=now,
            reason=r.POST.get("reason", ""),
            note=r.POST.get("note", ""),
            expected_version=_version(r),
        ),
        "rejected and returned to marketing",
    ),
    "touch": (
        lambda r, lead, now: services.lead_log_touch(
            lead=lead,
            by=r.user,
            now=now,
            kind=r.POST.get("kind", ""),
            outcome=r.POST.get("outcome", ""),
            note=r.POST.get("note", ""),
        ),
        "touch logged",
    ),
    "qualify": (
        lambda r, lead, now: services.lead_qualify(
            lead=lead, by=r.user, now=now, expected_version=_version(r)
        ),
        "qualified as SQL",
    ),
    "convert": (
        lambda r, lead, now: services.lead_convert(
            lead=lead, by=r.user, now=now, expected_version=_version(r)
        ),
        "converted to an opportunity",
    ),
    "close": (
        lambda r, lead, now: services.lead_close(
            lead=lead,
            by=r.user,
            now=now,
            outcome=r.POST.get("outcome", ""),
            amount=r.POST.get("amount") or None,
            note=r.POST.get("note", ""),
            expected_version=_version(r),
        ),
        "closed",
    ),
    "reassign": (
        lambda r, lead, now: services.lead_reassign(
            lead=lead, by=r.user, to=_rep_to(r), now=now, note=r.POST.get("note", "")
        ),
        "reassigned",
    ),
    "dispute": (
        lambda r, lead, now: services.lead_dispute(
            lead=lead, by=r.user, now=now, reason=r.POST.get("reason", "")
        ),
        "rejection disputed: it goes to the arbiter",
    ),
    "recycle": (
        lambda r, lead, now: services.lead_recycle(
            lead=lead, by=r.user, now=now, note=r.POST.get("note", "")
        ),
        "sent to sales again",
    ),
}


def _action_view(name: str):
    call, done = ACTIONS[name]

    @require_POST
    @login_required
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        return _act(request, pk, lambda lead: call(request, lead, clock.now()), done, name)

    view.__name__ = name
    return view


accept = _action_view("accept")
reject = _action_view("reject")
touch = _action_view("touch")
qualify = _action_view("qualify")
convert = _action_view("convert")
close = _action_view("close")
reassign = _action_view("reassign")
dispute = _action_view("dispute")
recycle = _action_view("recycle")


# -- panels other apps load by URL ---------------------------------------------


@login_required
def inbox_summary(request: HttpRequest) -> HttpResponse:
    """The rep's home card: how many leads wait, how many are stale."""
    counts = selectors.inbox_counts(request.user)
    return render(request, "leads/_inbox_summary.html", counts)


@capability_required("edit_definitions")
def definition_preview(request: HttpRequest, version_id: int) -> HttpResponse:
    """How a draft would have scored the last leads, against the version in force."""
    version = get_object_or_404(DefinitionVersion.objects.select_related("stage"), pk=version_id)
    try:
        sample = min(max(int(request.GET.get("n", 200)), 10), 2000)
    except ValueError:
        sample = 200
    preview = selectors.definition_preview(version, sample=sample)
    outcomes = definition_outcomes(version, now=clock.now())
    return render(
        request,
        "leads/_definition_preview.html",
        {"version": version, "outcomes": outcomes, **preview},
    )
