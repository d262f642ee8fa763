"""Agreement pages. Thin: parse, call one service or selector, render.

Mirrors the glossary's definition pages: the same draft → proposed → in force
flow, the same editor habits (rows added and removed with htmx, or by a plain
post that re-renders the editor unsaved), the same sign / send back page.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from dataclasses import field as dc_field
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from alignment import cosign_views
from alignment.models import Side, Team
from sla import agreements, selectors
from sla.agreements import EVENT_LABELS, Conflict
from sla.models import Agreement, AgreementStatus, ClockCalendar, FollowUpThrough

VERSIONS_PER_PAGE = 20
PROPOSALS_PER_PAGE = 20
EVENTS_PER_PAGE = 50

ROW_FIELDS = (
    "label",
    "min_score",
    "match_field",
    "match_values",
    "accept_hours",
    "first_touch_hours",
    "min_attempts",
    "attempt_days",
    "followup_days",
    "followup_through",
    "warn_percent",
)
_ROW_NAME = re.compile(r"^goals-([A-Za-z0-9]+)-(" + "|".join(ROW_FIELDS) + r")$")
_ERROR_KEY = re.compile(r"^goals\[(\d+)\](?:\.(\w+))?$")
_COMMITMENT_KEY = re.compile(r"^commitments\[(\d+)\](?:\.(\w+))?$")
_CONDITION_NAME = re.compile(r"^pause-([A-Za-z0-9]+)-(label|max_days)$")
_CONDITION_KEY = re.compile(r"^pause_conditions\[(\d+)\](?:\.(\w+))?$")
FIRST_GOAL = {"label": "Everyone else", "accept_hours": 8, "first_touch_hours": 16}
REST_KEY = "rest"  # the catch-all row, always last in the editor
TERMS = (
    "summary",
    "min_acceptance_rate",
    "max_incomplete_rate",
    "escalation_hours",
    "assign_hours",
    "pause_when_away",
    "restart_on_reassign",
    "clock_calendar",
)


def _int(value, default: int | None = None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _page(request: HttpRequest, items, per_page: int):
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def drafter_required(view):
    """Marketers and managers of either side draft; anyone else signed in gets 403."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not agreements.can_draft(request.user):
            raise PermissionDenied("Only marketers and managers may draft agreements.")
        return view(request, *args, **kwargs)

    return wrapped


# --- the editor's rows --------------------------------------------------------------------


@dataclass
class GoalRow:
    key: str
    label: str = ""
    min_score: str = ""
    match_field: str = ""
    match_values: str = ""
    accept_hours: str = ""
    first_touch_hours: str = ""
    min_attempts: str = "3"
    attempt_days: str = "5"
    followup_days: str = ""
    followup_through: str = FollowUpThrough.OPPORTUNITY
    warn_percent: str = "75"
    errors: dict[str, list[str]] = dc_field(default_factory=dict)

    @property
    def is_rest(self) -> bool:
        return self.key == REST_KEY

    @property
    def is_blank(self) -> bool:
        return not any(
            getattr(self, name).strip()
            for name in ("label", "min_score", "match_field", "match_values", "accept_hours")
        ) and not (self.first_touch_hours.strip())


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(value)
    text = str(value)
    return text[:-3] if text.endswith(".00") else text


def rows_from_agreement(agreement: Agreement) -> tuple[list[GoalRow], GoalRow]:
    goals = list(agreement.goals.all())
    rows = [
        GoalRow(key=secrets.token_hex(4), **{name: _text(getattr(g, name)) for name in ROW_FIELDS})
        for g in goals
    ]
    if goals and goals[-1].is_catch_all:
        rest = rows.pop()
        rest.key = REST_KEY
    else:
        rest = GoalRow(key=REST_KEY, label="Everyone else")
    return rows, rest


def rows_from_post(data: QueryDict) -> tuple[list[GoalRow], GoalRow]:
    rows: dict[str, GoalRow] = {}
    for name in data:
        match = _ROW_NAME.match(name)
        if match:
            key, attr = match.groups()
            setattr(rows.setdefault(key, GoalRow(key=key)), attr, data.get(name, ""))
    rest = rows.pop(REST_KEY, GoalRow(key=REST_KEY))
    remove = data.get("remove")
    return [row for key, row in rows.items() if key != remove], rest


def goals_from_rows(rows: list[GoalRow]) -> list[dict]:
    goals = []
    for row in rows:
        if row.is_blank:
            continue
        goal = {name: getattr(row, name).strip() for name in ROW_FIELDS}
        goal["match_values"] = [v.strip() for v in row.match_values.split(",") if v.strip()]
        goals.append(goal)
    return goals


@dataclass
class ConditionRow:
    """One condition that pauses a lead's clocks, as the editor shows it."""

    key: str
    label: str = ""
    max_days: str = ""
    errors: dict[str, list[str]] = dc_field(default_factory=dict)

    @property
    def is_blank(self) -> bool:
        return not self.label.strip() and not self.max_days.strip()


def conditions_from_agreement(agreement: Agreement) -> list[ConditionRow]:
    return [
        ConditionRow(key=secrets.token_hex(4), label=c.label, max_days=str(c.max_days))
        for c in agreement.pause_conditions.all()
    ]


def conditions_from_post(data: QueryDict) -> list[ConditionRow]:
    rows: dict[str, ConditionRow] = {}
    for name in data:
        match = _CONDITION_NAME.match(name)
        if match:
            key, attr = match.groups()
            setattr(rows.setdefault(key, ConditionRow(key=key)), attr, data.get(name, ""))
    remove = data.get("remove_condition")
    return [row for key, row in rows.items() if key != remove]


def conditions_from_rows(rows: list[ConditionRow]) -> list[dict]:
    return [
        {"label": row.label.strip(), "max_days": row.max_days.strip()}
        for row in rows
        if not row.is_blank
    ]


def attach_errors(
    rows: list[GoalRow],
    teams: list[int],
    message_dict: dict[str, list[str]],
    conditions: list[ConditionRow] = (),
) -> tuple[list[str], dict[int, list[str]]]:
    """Put `goals[i].x` errors on their rows, `commitments[i]` on their team's row and
    `pause_conditions[i].x` on their condition's row."""
    counted = [row for row in rows if not row.is_blank]
    counted_conditions = [row for row in conditions if not row.is_blank]
    summary: list[str] = []
    by_team: dict[int, list[str]] = {}
    for key, problems in message_dict.items():
        goal = _ERROR_KEY.match(key)
        commitment = _COMMITMENT_KEY.match(key)
        condition = _CONDITION_KEY.match(key)
        if goal and int(goal.group(1)) < len(counted):
            counted[int(goal.group(1))].errors.setdefault(goal.group(2) or "goal", []).extend(
                problems
            )
        elif commitment and int(commitment.group(1)) < len(teams):
            by_team.setdefault(teams[int(commitment.group(1))], []).extend(problems)
        elif condition and int(condition.group(1)) < len(counted_conditions):
            row = counted_conditions[int(condition.group(1))]
            row.errors.setdefault(condition.group(2) or "condition", []).extend(problems)
        placed = goal or commitment or condition
        summary += problems if placed else [f"{_label(key)}: {m}" for m in problems]
    return summary, by_team


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _sales_teams() -> list[Team]:
    return list(Team.objects.filter(side=Side.SALES).order_by("name"))


# --- pages -------------------------------------------------------------------------------


def _presented(agreement: Agreement | None) -> dict:
    if agreement is None:
        return {}
    return {
        "sales": selectors.sales_promises(agreement),
        "marketing": selectors.marketing_promises(agreement),
        "shared": selectors.shared_rules(agreement),
    }


@login_required
def agreement_list(request: HttpRequest) -> HttpResponse:
    in_force = selectors.agreement_in_force_with_details()
    versions = _page(request, selectors.agreement_versions(), VERSIONS_PER_PAGE)
    signer = bool(agreements.signing_sides(request.user))
    return render(
        request,
        "sla/agreement_list.html",
        {
            "in_force": in_force,
            "promises": _presented(in_force),
            "versions": versions,
            "choices": list(
                Agreement.objects.order_by("-number").values_list("pk", "number", "status")
            ),
            "can_draft": agreements.can_draft(request.user),
            "waiting": selectors.agreements_waiting_for_signature(request.user).count()
            if signer
            else 0,
        },
    )


def _labelled(events):
    for event in events:
        event.label = EVENT_LABELS.get(event.kind, event.kind.replace("_", " ").capitalize())
    return events


def _detail_context(request: HttpRequest, agreement: Agreement) -> dict:
    _labelled(agreement.events.all())
    sides = agreements.signing_sides(request.user)
    signed = {s.side for s in agreement.signatures.all()}
    in_force = (
        agreement
        if agreement.status == AgreementStatus.AGREED
        else Agreement.objects.filter(status=AgreementStatus.AGREED).only("pk", "number").first()
    )
    return {
        "agreement": agreement,
        "promises": _presented(agreement),
        "in_force": in_force,
        "can_edit": agreement.is_editable and agreements.can_draft(request.user),
        "can_sign": agreement.status == AgreementStatus.PROPOSED and bool(set(sides) - signed),
        "is_signer": bool(sides),
        "others": list(
            Agreement.objects.exclude(pk=agreement.pk)
            .order_by("-number")
            .values_list("pk", "number", "status")
        ),
    }


PAGES = cosign_views.Pages(
    spec=agreements.COSIGNED,
    load=selectors.agreement_detail,
    context=_detail_context,
    diff=selectors.agreement_diff,
)


@require_POST
@drafter_required
def agreement_new(request: HttpRequest) -> HttpResponse:
    if Agreement.objects.filter(status=AgreementStatus.AGREED).exists():
        draft = agreements.agreement_draft_create(by=request.user)
        messages.success(request, f"Draft {draft} started from the agreement in force. Edit away.")
    else:
        # Nothing in force to copy: start from one catch-all goal to fill in.
        draft = agreements.agreement_draft_create(by=request.user, goals=[FIRST_GOAL])
        messages.success(request, f"Draft {draft} started. Add the goals both sides promise.")
    return redirect("sla:agreement_edit", pk=draft.pk)


def _editor_context(
    agreement, rows, rest, data, commitments, errors, summary, team_errors, conditions
):
    teams = _sales_teams()
    return {
        "agreement": agreement,
        "doc": agreement,
        "rows": rows,
        "rest": rest,
        "data": data,
        "errors": errors,
        "error_summary": summary,
        "teams": [
            (team, commitments.get(team.pk, ""), team_errors.get(team.pk, [])) for team in teams
        ],
        "conditions": conditions,
        "followup_through_choices": FollowUpThrough.choices,
        "clock_calendars": ClockCalendar.choices,
    }


# Long: one editor page (GET, save, add or remove a row by htmx) read top to bottom.
@drafter_required
def agreement_edit(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.agreement_detail(pk)
    if not found.is_editable:
        return cosign_views.not_a_draft(request, PAGES, found)
    data = {name: getattr(found, name) for name in TERMS}
    data["escalation_hours"] = _text(found.escalation_hours)
    data["assign_hours"] = _text(found.assign_hours)
    data["revision"] = found.revision
    commitments = {c.team_id: str(c.monthly_mqls) for c in found.commitments.all()}
    rows, rest = rows_from_agreement(found)
    conditions = conditions_from_agreement(found)
    errors: dict[str, list[str]] = {}
    summary: list[str] = []
    team_errors: dict[int, list[str]] = {}
    status = 200
    if request.method == "POST":
        post = request.POST
        data = {
            "summary": post.get("summary", ""),
            "min_acceptance_rate": post.get("min_acceptance_rate", ""),
            "max_incomplete_rate": post.get("max_incomplete_rate", ""),
            "escalation_hours": post.get("escalation_hours", ""),
            "assign_hours": post.get("assign_hours", _text(found.assign_hours)),
            "pause_when_away": "pause_when_away" in post,
            "restart_on_reassign": "restart_on_reassign" in post,
            "clock_calendar": post.get("clock_calendar", found.clock_calendar),
            "revision": _int(post.get("revision"), 0),
        }
        rows, rest = rows_from_post(post)
        conditions = conditions_from_post(post)
        teams = _sales_teams()
        commitments = {t.pk: post.get(f"commit-{t.pk}", "").strip() for t in teams}
        if {"add_goal", "remove", "add_condition", "remove_condition"} & set(post):
            # Without JavaScript, add and remove re-render the editor unsaved.
            if "add_goal" in post:
                rows.append(GoalRow(key=secrets.token_hex(4)))
            if "add_condition" in post:
                conditions.append(ConditionRow(key=secrets.token_hex(4)))
        else:
            committed = [t.pk for t in teams if commitments[t.pk]]
            try:
                agreements.agreement_draft_update(
                    agreement=found,
                    by=request.user,
                    expected_revision=data["revision"],
                    goals=goals_from_rows([*rows, rest]),
                    commitments=[{"team": pk, "monthly_mqls": commitments[pk]} for pk in committed],
                    pause_conditions=conditions_from_rows(conditions),
                    **{name: data[name] for name in TERMS},
                )
            except ValidationError as error:
                errors = error.message_dict
                summary, team_errors = attach_errors([*rows, rest], committed, errors, conditions)
                status = 400
            except Conflict as conflict:
                messages.error(request, str(conflict))
                status = 409
            else:
                return cosign_views.saved(request, PAGES, found)
    return render(
        request,
        "sla/agreement_edit.html",
        _editor_context(
            found, rows, rest, data, commitments, errors, summary, team_errors, conditions
        ),
        status=status,
    )


@drafter_required
@require_GET
def agreement_goal_row(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "sla/agreement_edit.html#goal-row",
        {
            "row": GoalRow(key=secrets.token_hex(4)),
            "followup_through_choices": FollowUpThrough.choices,
        },
    )


@login_required
@require_GET
def agreement_diff(request: HttpRequest) -> HttpResponse:
    a, b = _int(request.GET.get("a")), _int(request.GET.get("b"))
    if a is None or b is None or a == b:
        return cosign_views.no_diff(request, "sla/agreement_diff.html")
    older, newer = selectors.agreements_for_diff(a, b)
    return render(
        request, "sla/agreement_diff.html", {"diff": selectors.agreement_diff(older, newer)}
    )


@login_required
def agreement_history(request: HttpRequest) -> HttpResponse:
    events = _page(request, selectors.agreement_events(), EVENTS_PER_PAGE)
    events.object_list = _labelled(list(events.object_list))
    return render(request, "sla/agreement_history.html", {"events": events})


@login_required
def agreement_signatures(request: HttpRequest) -> HttpResponse:
    cosign_views.require_signer(request)
    page = _page(
        request, selectors.agreements_waiting_for_signature(request.user), PROPOSALS_PER_PAGE
    )
    return render(request, "sla/agreement_signatures.html", {"proposals": page})


agreement_signatures_panel = cosign_views.signatures_panel(
    selectors.agreements_waiting_for_signature, "sla/agreement_signatures.html"
)
