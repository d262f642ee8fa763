"""Routing in the browser: the rules (edited, tried on a lead, saved as a new version)
and "where would this lead go, and why?" for a lead pasted or picked."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from alignment.models import Side, Team
from leads.assignment import where_would_it_go
from leads.models import Lead, RepPool, RuleOperator
from leads.routing import can_edit, check_rules, lead_fields, rules_in_force, rules_save

BLANK_ROWS = 2
MAX_ROWS = 200
TRY_FIELDS = ("country", "source", "score", "company", "title", "email", "campaign")


def _require_editor(request: HttpRequest) -> None:
    if not can_edit(request.user):
        raise PermissionDenied("Only an admin or a sales manager edits and tries the routing.")


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _rows_of(rules) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "field": r.field,
            "operator": r.operator,
            "values": ", ".join(_value_text(v) for v in r.values),
            "team": str(r.team_id or ""),
            "pool": str(r.pool_id or ""),
            "on_shift": r.on_shift,
            "sticky": r.sticky,
        }
        for r in rules
    ]


def _posted_rows(post) -> list[dict[str, Any]]:
    rows = []
    for n in range(MAX_ROWS):
        prefix = f"rule-{n}-"
        if prefix + "operator" not in post:
            break
        keys = ("name", "field", "operator", "team", "pool", "on_shift")
        row = {k: post.get(prefix + k, "").strip() for k in keys}
        raw = post.get(prefix + "values", "")
        if row["operator"] == RuleOperator.RANGE:
            low, _, high = raw.partition(",")
            row["values"] = [low.strip(), high.strip()]
        else:
            row["values"] = raw
        row["sticky"] = post.get(prefix + "sticky", "") == "1"
        if not (row["name"] or row["field"] or raw.strip()):
            continue  # an empty row of the editor
        rows.append(row)
    return rows


def _tried(request: HttpRequest, source) -> tuple[dict[str, Any], dict, dict] | None:
    """The lead to try from the form: a lead picked by id, or fields typed in."""
    lead_id = source.get("try-lead", "").strip()
    if lead_id.isdigit():
        lead = Lead.objects.filter(pk=int(lead_id)).first()
        if lead is None:
            return None
        return {"lead": lead}, lead_fields(lead), lead.attributes or {}
    fields = {name: source.get(f"try-{name}", "").strip() for name in TRY_FIELDS}
    attributes = {}
    for line in source.get("try-attributes", "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            attributes[key.strip()[:100]] = value.strip()[:200]
    if not any(fields.values()) and not attributes:
        return None
    return {"typed": fields, "attributes": attributes}, fields, attributes


def _try_inputs(source) -> dict[str, Any]:
    return {
        "try_inputs": [(name, source.get(f"try-{name}", "")) for name in TRY_FIELDS],
        "try_attributes": source.get("try-attributes", ""),
        "try_lead": source.get("try-lead", ""),
    }


def _with_blank_rows(rows: list[dict]) -> list[dict]:
    """Room for new rules: above the catch-all, where a new rule can match anything."""
    # Every key present: a template reading row.values of a dict without it gets dict.values.
    blank = [
        {"name": "", "field": "", "operator": RuleOperator.IN, "values": "", "team": "", "pool": ""}
        for _ in range(BLANK_ROWS)
    ]
    if rows and rows[-1].get("operator") == RuleOperator.ANY:
        return [*rows[:-1], *blank, rows[-1]]
    return [*rows, *blank]


def _context(rows, errors=None, posted=None, **more) -> dict[str, Any]:
    return {
        **_try_inputs(posted or {}),
        "rows": _with_blank_rows(rows),
        "errors": errors or {},
        "operators": RuleOperator.choices,
        "teams": list(Team.objects.filter(side=Side.SALES).order_by("name")),
        "pools": list(RepPool.objects.filter(deleted_at__isnull=True).order_by("name")),
        **more,
    }


@login_required
def routing_rules(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    version, rules = rules_in_force()
    if request.method != "POST":
        return render(
            request, "leads/routing.html", _context(_rows_of(rules), version=version, posted={})
        )
    rows = _posted_rows(request.POST)

    def page(status: int = 200, errors=None, **more) -> HttpResponse:
        context = _context(rows, errors, version=version, posted=request.POST, **more)
        return render(request, "leads/routing.html", context, status=status)

    try:
        if request.POST.get("action") == "try":
            # Try a lead on the rules as they stand in the form: nothing is saved.
            draft = check_rules(rows).rules
            tried = _tried(request, request.POST)
            answer = None
            if tried is not None:
                _, fields, attributes = tried
                answer = where_would_it_go(fields=fields, attributes=attributes, rules=draft)
            return page(answer=answer)
        saved, warnings = rules_save(by=request.user, rows=rows, note=request.POST.get("note", ""))
    except ValidationError as invalid:
        return page(400, invalid.message_dict)
    messages.success(request, f"{saved} saved: it routes every new lead from now on.")
    for warning in warnings:
        messages.warning(request, warning)
    return redirect("leads:routing")


@login_required
def routing_try(request: HttpRequest) -> HttpResponse:
    """Where would this lead go, and why? (a GET: nothing is assigned)."""
    _require_editor(request)
    tried = _tried(request, request.GET)
    answer = None
    if tried is not None:
        _, fields, attributes = tried
        answer = where_would_it_go(fields=fields, attributes=attributes)
    return render(
        request,
        "leads/routing_try.html",
        {
            "answer": answer,
            "tried": tried[0] if tried else None,
            "missing": bool(request.GET.get("try-lead")) and tried is None,
            **_try_inputs(request.GET),
        },
    )
