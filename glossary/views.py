"""Pages of the glossary. Thin: parse, call one service or selector, render.

htmx requests get the named partial of the same template, so the full page
and the swap share one source; every action also works as a plain form post.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_POST

from alignment import cosign_views
from alignment.permissions import capability_required
from glossary import editor, selectors, services
from glossary.models import (
    DefinitionVersion,
    FunnelStage,
    RejectionReason,
    Term,
    VersionStatus,
)
from glossary.scoring import LEAD_FIELDS, compile_definition

TERMS_PER_PAGE = 25
VERSIONS_PER_PAGE = 20
PROPOSALS_PER_PAGE = 20


def _page(request: HttpRequest, items, per_page: int):
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def _int(value, default: int | None = None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@login_required
def index(request: HttpRequest) -> HttpResponse:
    stages = selectors.stages()
    in_force = selectors.in_force_by_stage()
    query = request.GET.get("q", "")
    return render(
        request,
        "glossary/index.html",
        {
            "stages": stages,
            "definitions": [(s, in_force.get(s.pk)) for s in stages if s.is_qualifying],
            "terms": _page(request, selectors.search_terms(query), TERMS_PER_PAGE),
            "query": query,
            "reasons": selectors.rejection_reasons(),
            "waiting": selectors.waiting_for_signature(request.user).count()
            if services.signing_sides(request.user)
            else 0,
        },
    )


@login_required
@require_GET
def terms(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    page = _page(request, selectors.search_terms(query), TERMS_PER_PAGE)
    template = "glossary/terms.html#term-results" if request.htmx else "glossary/terms.html"
    return render(request, template, {"terms": page, "query": query})


@login_required
def term(request: HttpRequest, slug: str) -> HttpResponse:
    entry = get_object_or_404(Term.objects.select_related("stage"), slug=slug)
    return render(
        request,
        "glossary/term.html",
        {"term": entry, "in_platform": selectors.platform_mentions(entry.name)},
    )


@capability_required("edit_definitions")
def term_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    entry = get_object_or_404(Term, slug=slug) if slug else None
    stages = selectors.stages()
    data = {
        "name": entry.name if entry else "",
        "acronym_of": entry.acronym_of if entry else "",
        "definition": entry.definition if entry else "",
        "stage": entry.stage_id if entry else None,
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = {
            "name": request.POST.get("name", ""),
            "acronym_of": request.POST.get("acronym_of", ""),
            "definition": request.POST.get("definition", ""),
            "stage": _int(request.POST.get("stage")),
        }
        stage = next((s for s in stages if s.pk == data["stage"]), None)
        try:
            entry = services.term_save(
                by=request.user,
                term=entry,
                name=data["name"],
                acronym_of=data["acronym_of"],
                definition=data["definition"],
                stage=stage,
            )
        except ValidationError as error:
            errors = error.message_dict
        else:
            messages.success(request, f"Saved “{entry.name}”.")
            return redirect("glossary:term", slug=entry.slug)
    return render(
        request,
        "glossary/term_form.html",
        {"term": entry, "data": data, "errors": errors, "stages": stages},
        status=400 if errors else 200,
    )


@login_required
def stage(request: HttpRequest, key: str) -> HttpResponse:
    funnel_stage = get_object_or_404(FunnelStage, key=key)
    in_force = selectors.definition_in_force(key) if funnel_stage.is_qualifying else None
    return render(
        request,
        "glossary/stage.html",
        {
            "stage": funnel_stage,
            "in_force": in_force,
            "versions": _page(request, selectors.versions_of(funnel_stage), VERSIONS_PER_PAGE),
        },
    )


@require_POST
@capability_required("edit_definitions")
def draft_new(request: HttpRequest, key: str) -> HttpResponse:
    funnel_stage = get_object_or_404(FunnelStage, key=key, is_qualifying=True)
    draft = services.draft_create(stage=funnel_stage, by=request.user)
    messages.success(request, f"Draft {draft} started from the version in force. Edit away.")
    return redirect("glossary:version_edit", pk=draft.pk)


def _preview_url(version: DefinitionVersion) -> str | None:
    # The leads app serves the preview over real leads; glossary knows no leads.
    try:
        return reverse("leads:definition_preview", kwargs={"version_id": version.pk})
    except NoReverseMatch:
        return None


def _version_context(request: HttpRequest, version: DefinitionVersion) -> dict:
    user = request.user
    sides = services.signing_sides(user)
    signed = {s.side for s in version.signatures.all()}
    in_force = selectors.definition_in_force(version.stage.key)
    others = list(
        DefinitionVersion.objects.filter(stage=version.stage)
        .exclude(pk=version.pk)
        .order_by("-number")
        .values_list("pk", "number", "status")
    )
    return {
        "version": version,
        "in_force": in_force,
        "can_edit": version.is_editable and user.has_perm("alignment.edit_definitions"),
        "can_sign": version.status == VersionStatus.PROPOSED and bool(set(sides) - signed),
        "is_signer": bool(sides),
        "others": others,
        "preview_url": _preview_url(version) if not version.is_frozen else None,
        "example": request.GET.get("example", ""),
    }


PAGES = cosign_views.Pages(
    spec=services.COSIGNED,
    load=selectors.version_detail,
    context=_version_context,
    diff=selectors.version_diff,
)


def _editor_context(version, rows, data, errors, summary) -> dict:
    reasons = list(RejectionReason.objects.all())
    return {
        "version": version,
        "doc": version,
        "rows": rows,
        "data": data,
        "errors": errors,
        "error_summary": summary,
        "reasons": sorted(set(reasons), key=lambda r: (r.position, r.label)),
        "operators": editor.OPERATOR_CHOICES,
        "kinds": editor.KIND_CHOICES,
        "known_fields": selectors.known_fields(),
    }


# Long: one editor page (GET, save, add or remove a row by htmx) read top to bottom.
@capability_required("edit_definitions")
def version_edit(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.version_detail(pk)
    if not found.is_editable:
        return cosign_views.not_a_draft(request, PAGES, found)
    data = {
        "summary": found.summary,
        "good_lead": found.good_lead,
        "not_a_lead": found.not_a_lead,
        "handling": found.handling,
        "threshold": str(found.threshold),
        "required_fields": ", ".join(found.required_fields),
        "rejection_reasons": [r.pk for r in found.rejection_reasons.all()],
        "notes_required": list(found.notes_required),
        "revision": found.revision,
    }
    rows = editor.rows_from_version(found)
    errors: dict[str, list[str]] = {}
    summary: list[str] = []
    status = 200
    if request.method == "POST":
        data = {
            **{name: request.POST.get(name, "") for name in services.PROSE},
            "threshold": request.POST.get("threshold", ""),
            "required_fields": request.POST.get("required_fields", ""),
            "rejection_reasons": [
                p for p in (_int(v) for v in request.POST.getlist("rejection_reasons")) if p
            ],
            "notes_required": request.POST.getlist("notes_required"),
            "revision": _int(request.POST.get("revision"), 0),
        }
        rows = editor.rows_from_post(request.POST)
        if "add_rule" in request.POST or "remove" in request.POST:
            # Without JavaScript, add and remove re-render the editor unsaved.
            if "add_rule" in request.POST:
                rows.append(editor.RuleRow(key=editor.new_key()))
        else:
            threshold = data["threshold"].strip()
            try:
                services.draft_update(
                    version=found,
                    by=request.user,
                    expected_revision=data["revision"],
                    rules=editor.rules_from_rows(rows),
                    threshold=_int(threshold, threshold),
                    required_fields=data["required_fields"],
                    rejection_reasons=RejectionReason.objects.filter(
                        pk__in=data["rejection_reasons"]
                    ),
                    notes_required=data["notes_required"],
                    **{name: data[name] for name in services.PROSE},
                )
            except ValidationError as error:
                errors = error.message_dict
                summary = editor.attach_errors(rows, errors)
                status = 400
            except services.Conflict as conflict:
                messages.error(request, str(conflict))
                status = 409
            else:
                return cosign_views.saved(request, PAGES, found)
    if not rows:
        rows = [editor.RuleRow(key=editor.new_key())]
    return render(
        request,
        "glossary/version_edit.html",
        _editor_context(found, rows, data, errors, summary),
        status=status,
    )


@capability_required("edit_definitions")
@require_GET
def rule_row(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "glossary/version_edit.html#rule-row",
        {
            "row": editor.RuleRow(key=editor.new_key()),
            "operators": editor.OPERATOR_CHOICES,
            "kinds": editor.KIND_CHOICES,
        },
    )


def _parse_example(text: str) -> tuple[dict[str, str], dict[str, str], list[str]]:
    fields, attributes, problems = {}, {}, []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep:
            name, sep, value = line.partition(":")
        if not sep or not name.strip():
            problems.append(f"Line {number}: write it as Name = value.")
            continue
        target = fields if name.strip() in LEAD_FIELDS else attributes
        target[name.strip()] = value.strip()
    return fields, attributes, problems


@login_required
@require_GET
def version_try(request: HttpRequest, pk: int) -> HttpResponse:
    """Score example attributes typed by hand against this version and the one in force."""
    found = selectors.version_detail(pk)
    example = request.GET.get("example", "")
    fields, attributes, problems = _parse_example(example)
    results = []
    if example.strip() and not problems:
        in_force = selectors.definition_in_force(found.stage.key)
        targets = [found] + ([in_force] if in_force and in_force.pk != found.pk else [])
        results = [
            (v, compile_definition(v).score(fields=fields, attributes=attributes)) for v in targets
        ]
    context = {
        **_version_context(request, found),
        "example": example,
        "results": results,
        "problems": problems,
    }
    template = "glossary/version.html#try-results" if request.htmx else "glossary/version.html"
    return render(request, template, context, status=400 if problems else 200)


@login_required
@require_GET
def diff(request: HttpRequest) -> HttpResponse:
    a, b = _int(request.GET.get("a")), _int(request.GET.get("b"))
    ticked = [_int(v) for v in request.GET.getlist("v")]
    if a is None and b is None and len(ticked) == 2:
        a, b = ticked
    if a is None or b is None or a == b:
        return cosign_views.no_diff(request, "glossary/diff.html")
    older, newer = selectors.versions_for_diff(a, b)
    if older.stage_id != newer.stage_id:
        return cosign_views.no_diff(
            request, "glossary/diff.html", "Those versions define different stages."
        )
    return render(request, "glossary/diff.html", {"diff": selectors.version_diff(older, newer)})


@login_required
def signatures(request: HttpRequest) -> HttpResponse:
    cosign_views.require_signer(request)
    page = _page(request, selectors.waiting_for_signature(request.user), PROPOSALS_PER_PAGE)
    platforms = list(selectors.platforms_waiting_for_signature(request.user)[:PROPOSALS_PER_PAGE])
    return render(request, "glossary/signatures.html", {"proposals": page, "platforms": platforms})


signatures_panel = cosign_views.signatures_panel(
    selectors.waiting_for_signature, "glossary/signatures.html"
)
