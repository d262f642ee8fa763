"""Pages of the message platform: read by everyone, drafted by marketers and managers,
signed through the same pages as definitions and agreements (alignment.cosign_views)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from alignment import cosign_views
from alignment.cosign import Conflict, signing_sides
from alignment.permissions import capability_required
from glossary import platform as services
from glossary import selectors
from glossary.models import MessagePlatform, VersionStatus

EDITOR_ROWS = ("persona", "description", "match_field", "match_values") + (
    "key_messages",
    "differentiators",
    "proof_points",
)


def _context(request: HttpRequest, platform: MessagePlatform) -> dict:
    sides = signing_sides(request.user)
    signed = {s.side for s in platform.signatures.all()}
    in_force = selectors.platform_in_force()
    return {
        "platform": platform,
        "in_force": in_force,
        "can_edit": platform.is_editable and request.user.has_perm("alignment.edit_definitions"),
        "can_sign": platform.status == VersionStatus.PROPOSED and bool(set(sides) - signed),
        "is_signer": bool(sides),
        "others": [],  # versions are listed on the platform's page; no side-by-side yet
    }


@login_required
def platform_index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "glossary/platform.html",
        {
            "in_force": selectors.platform_in_force(),
            "versions": list(selectors.platform_versions()[:50]),
        },
    )


@require_POST
@capability_required("edit_definitions")
def platform_new(request: HttpRequest) -> HttpResponse:
    draft = services.platform_draft_create(by=request.user)
    messages.success(request, f"Draft {draft} started from the platform in force. Edit away.")
    return redirect("glossary:platform_edit", pk=draft.pk)


def _rows_from_post(data: QueryDict) -> list[dict[str, str]]:
    rows = []
    for i in range(services.MAX_PERSONAS):
        row = {name: data.get(f"personas-{i}-{name}", "") for name in EDITOR_ROWS}
        if any(value.strip() for value in row.values()):
            rows.append(row)
    return rows


@capability_required("edit_definitions")
def platform_edit(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.platform_detail(pk)
    if not found.is_editable:
        return cosign_views.not_a_draft(request, PAGES, found)
    data = {
        "summary": found.summary,
        "value_proposition": found.value_proposition,
        "revision": found.revision,
        "personas": [
            {
                **{name: getattr(p, name) for name in EDITOR_ROWS},
                "match_values": ", ".join(p.match_values),
            }
            for p in found.personas.all()
        ],
    }
    errors, summary, status = {}, [], 200
    if request.method == "POST":
        data = {
            "summary": request.POST.get("summary", ""),
            "value_proposition": request.POST.get("value_proposition", ""),
            "revision": request.POST.get("revision", ""),
            "personas": _rows_from_post(request.POST),
        }
        try:
            services.platform_draft_update(
                platform=found,
                by=request.user,
                expected_revision=int(data["revision"] or 0),
                summary=data["summary"],
                value_proposition=data["value_proposition"],
                personas=data["personas"],
            )
        except ValueError:
            errors, status = {"revision": ["Reload the page and edit again."]}, 400
        except ValidationError as error:
            errors, status = error.message_dict, 400
        except Conflict as conflict:
            messages.error(request, str(conflict))
            status = 409
        else:
            return cosign_views.saved(request, PAGES, found)
        summary = [f"{k}: {m}" for k, ms in errors.items() for m in ms]
    rows = [*data["personas"], dict.fromkeys(EDITOR_ROWS, "")]
    return render(
        request,
        "glossary/platform_edit.html",
        {
            "platform": found,
            "data": data,
            "rows": rows,
            "errors": errors,
            "error_summary": summary,
        },
        status=status,
    )


PAGES = cosign_views.Pages(
    spec=services.COSIGNED,
    load=selectors.platform_detail,
    context=_context,
    diff=selectors.platform_diff,
)
