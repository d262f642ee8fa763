"""The browser's side of co-signing, written once: propose, discard, sign, send back.

Each use describes its pages with `Pages` (its alignment.cosign spec, how to load
a version with what its pages show, the detail context, the diff; its URL and
template names follow from the spec, where a discarded draft leads from the
version) and routes its detail page and the four actions with `action_urls`, behind its own
drafter decorator.
Every refusal is answered the same way for every kind of document: a 409 with
what happened, a 400 with what to mend, a 403 for the wrong person
(alignment.cosign decides who may sign).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET, require_POST

from alignment import cosign
from alignment.cosign import signing_sides
from alignment.documents import Status
from alignment.errors import Conflict

ACTIONS = ("propose", "discard", "sign", "send_back")


@dataclass(frozen=True)
class Pages:
    """A use's pages: what is particular to its documents. The rest follows from the spec:
    its app and noun ("sla", "agreement") and its detail page's URL name
    ("sla:agreement_detail") name the templates `<app>/<detail>.html`,
    `<app>/<noun>_sign.html`, `<app>/<noun>_discard.html` and the URL names
    `<app>:<noun>_edit`, `<app>:<noun>_<action>` and `<app>:signatures`; a discarded
    draft's author goes to the version's `index_url()`."""

    spec: cosign.Cosigned
    load: Callable[[int], Any]  # the version with what its pages show (404 if none)
    context: Callable[[HttpRequest, Any], dict]  # the detail page's context
    diff: Callable[[Any, Any], Any]  # what changes from an older version to a newer one

    @property
    def app(self) -> str:
        return self.spec.model._meta.app_label

    @property
    def noun(self) -> str:
        """The version's name in a template's context and the start of its URL names."""
        return self.spec.arg

    @property
    def detail(self) -> str:
        """The detail page's URL name in its app, and its template's: "version"."""
        return self.spec.detail_url.partition(":")[2]

    @property
    def signatures_url(self) -> str:
        """Where a manager goes back to after sending back: what waits to be signed."""
        return f"{self.app}:signatures"

    @property
    def urls(self) -> dict[str, str]:
        """The URL names of the detail page, the editor and the four actions."""
        names = {action: f"{self.app}:{self.noun}_{action}" for action in ("edit", *ACTIONS)}
        return names | {"detail": self.spec.detail_url}

    @property
    def templates(self) -> dict[str, str]:
        """The templates of the detail, sign and discard pages."""
        names = {page: f"{self.app}/{self.noun}_{page}.html" for page in ("sign", "discard")}
        return names | {"detail": f"{self.app}/{self.detail}.html"}


def errors_text(error: ValidationError) -> str:
    return " ".join(sum(error.message_dict.values(), []))


def _revision(request: HttpRequest, default: int | None = 0) -> int | None:
    try:
        return int(request.POST.get("revision", ""))
    except ValueError:
        return default


def require_signer(request: HttpRequest) -> None:
    if not signing_sides(request.user):
        raise PermissionDenied("Only a marketing manager or a sales manager may sign.")


def render_detail(request: HttpRequest, pages: Pages, pk: int, *, status: int) -> HttpResponse:
    found = pages.load(pk)
    return render(request, pages.templates["detail"], pages.context(request, found), status=status)


def not_a_draft(request: HttpRequest, pages: Pages, found) -> HttpResponse:
    """An editor asked for a version that is no longer a draft: back to its page, saying why."""
    messages.error(
        request, f"{found} is {found.get_status_display().lower()}: only drafts can be edited."
    )
    return redirect(pages.urls["detail"], pk=found.pk)


def saved(request: HttpRequest, pages: Pages, found) -> HttpResponse:
    """An editor saved its draft: back to the draft's page, saying so."""
    messages.success(request, f"Saved {found}.")
    return redirect(pages.urls["detail"], pk=found.pk)


def propose(request: HttpRequest, pages: Pages, pk: int) -> HttpResponse:
    found = pages.load(pk)
    try:
        cosign.propose(
            pages.spec, version=found, by=request.user, expected_revision=_revision(request)
        )
    except ValidationError as error:
        messages.error(request, f"{found} cannot be proposed yet: {errors_text(error)}")
        return redirect(pages.urls["edit"], pk=found.pk)
    except Conflict as conflict:
        messages.error(request, str(conflict))
        return render_detail(request, pages, found.pk, status=409)
    messages.success(
        request, f"{found} is proposed: a marketing and a sales manager must now sign it."
    )
    return redirect(pages.urls["detail"], pk=found.pk)


def discard(request: HttpRequest, pages: Pages, pk: int) -> HttpResponse:
    found = pages.load(pk)
    if request.method == "POST":
        try:
            cosign.discard(
                pages.spec, version=found, by=request.user, expected_revision=_revision(request)
            )
        except Conflict as conflict:
            messages.error(request, str(conflict))
            return render_detail(request, pages, found.pk, status=409)
        messages.success(request, f"Draft {found} discarded.")
        return redirect(found.index_url())
    if not found.is_editable:
        messages.error(request, f"{found} is not a draft; it cannot be discarded.")
        return redirect(pages.urls["detail"], pk=found.pk)
    return render(request, pages.templates["discard"], {pages.noun: found})


def _sign_page(request: HttpRequest, pages: Pages, found, *, status: int, sides=True):
    context = pages.context(request, found) | {"doc": found, "pages": pages}
    base = found.based_on or context["in_force"]
    if base is not None and base.pk != found.pk:
        context["diff"] = pages.diff(pages.load(base.pk), found)
    signed = {s.side for s in found.signatures.all()}
    context["sides"] = (
        [(side, side.title()) for side in signing_sides(request.user) if side not in signed]
        if sides
        else []
    )
    return render(request, pages.templates["sign"], context, status=status)


def sign(request: HttpRequest, pages: Pages, pk: int) -> HttpResponse:
    require_signer(request)
    found = pages.load(pk)
    status = 200
    if request.method == "POST":
        try:
            found = cosign.sign(
                pages.spec,
                version=found,
                by=request.user,
                expected_revision=_revision(request),
                side=request.POST.get("side") or None,
            )
        except ValidationError as error:
            messages.error(request, errors_text(error))
            status = 400
        except Conflict as conflict:
            messages.error(request, str(conflict))
            status = 409
        else:
            if found.status == Status.AGREED:
                messages.success(request, f"Signed. {found} is now in force.")
            else:
                messages.success(request, f"Signed. {found} waits for the other side's signature.")
            return redirect(pages.urls["detail"], pk=found.pk)
        found = pages.load(pk)
    return _sign_page(request, pages, found, status=status)


def send_back(request: HttpRequest, pages: Pages, pk: int) -> HttpResponse:
    require_signer(request)
    found = pages.load(pk)
    try:
        cosign.send_back(
            pages.spec,
            version=found,
            by=request.user,
            comment=request.POST.get("comment", ""),
            expected_revision=_revision(request, None),
        )
    except ValidationError as error:
        messages.error(request, errors_text(error))
        return _sign_page(request, pages, found, status=400, sides=False)
    except Conflict as conflict:
        messages.error(request, str(conflict))
        return render_detail(request, pages, found.pk, status=409)
    messages.success(request, f"{found} went back to draft with your comment.")
    return redirect(pages.signatures_url)


def no_diff(
    request: HttpRequest, template: str, problem: str = "Choose two different versions to compare."
) -> HttpResponse:
    """A compare page without a comparison: 400, saying what to choose instead."""
    return render(request, template, {"diff": None, "problem": problem}, status=400)


def signatures_panel(waiting: Callable[[Any], Any], template: str) -> Callable:
    """The home page's panel of what waits for the person's signature (`waiting(user)`):
    how many, and the first three, from the `signatures-panel` partial of `template`."""

    @login_required
    def panel(request: HttpRequest) -> HttpResponse:
        proposals = waiting(request.user)
        context = {"count": proposals.count(), "first": list(proposals[:3])}
        return render(request, f"{template}#signatures-panel", context)

    return panel


@login_required
@require_GET
def row_removed(request: HttpRequest) -> HttpResponse:
    """An editor's row removed: htmx swaps the row's outerHTML with this empty answer."""
    return HttpResponse("")


def action_views(pages: Pages, *, drafter: Callable) -> tuple[Callable, ...]:
    """The four views of a use: propose and discard behind its `drafter` decorator, sign
    and send back for whoever may sign (alignment.cosign decides which side)."""

    @require_POST
    @drafter
    def propose_view(request: HttpRequest, pk: int) -> HttpResponse:
        return propose(request, pages, pk)

    @drafter
    def discard_view(request: HttpRequest, pk: int) -> HttpResponse:
        return discard(request, pages, pk)

    @login_required
    def sign_view(request: HttpRequest, pk: int) -> HttpResponse:
        return sign(request, pages, pk)

    @require_POST
    @login_required
    def send_back_view(request: HttpRequest, pk: int) -> HttpResponse:
        return send_back(request, pages, pk)

    return propose_view, discard_view, sign_view, send_back_view


def action_urls(pages: Pages, *, prefix: str, drafter: Callable) -> list[URLPattern]:
    """The routes of the detail page, `<prefix>/<pk>/` named by the spec's `detail_url`, and
    of the four actions under it, named `<noun>_<action>`."""

    @login_required
    def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
        return render_detail(request, pages, pk, status=200)

    views = dict(zip(ACTIONS, action_views(pages, drafter=drafter), strict=True))
    return [
        path(f"{prefix}/<int:pk>/", detail_view, name=pages.detail),
        *(
            path(
                f"{prefix}/<int:pk>/{action.replace('_', '-')}/",
                view,
                name=f"{pages.noun}_{action}",
            )
            for action, view in views.items()
        ),
    ]
