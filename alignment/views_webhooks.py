"""The admins' pages for webhooks: endpoints and subscriptions, the delivery log, redeliver."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from alignment import outbox, webhooks
from alignment.models import EndpointKind, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from alignment.permissions import capability_required

LOG_ROWS = 50

ADMIN = capability_required("manage_organisation")


def _form(request: HttpRequest) -> dict:
    return {
        "name": request.POST.get("name", ""),
        "url": request.POST.get("url", ""),
        "event_types": request.POST.getlist("event_types"),
    }


@ADMIN
@require_http_methods(["GET", "POST"])
def webhook_list(request: HttpRequest) -> HttpResponse:
    errors, form = {}, {"kind": EndpointKind.WEBHOOK, "event_types": []}
    if request.method == "POST":
        form = {**_form(request), "kind": request.POST.get("kind", "")}
        try:
            endpoint = webhooks.endpoint_create(by=request.user, **form)
        except ValidationError as error:
            errors = error.message_dict
        else:
            messages.success(request, f"“{endpoint.name}” will receive its events from now on.")
            return redirect("webhook", pk=endpoint.pk)
    return render(
        request,
        "alignment/webhooks.html",
        {
            "endpoints": WebhookEndpoint.objects.all(),
            "form": form,
            "errors": errors,
            "kinds": EndpointKind.choices,
            "event_types": outbox.event_types(),
            "chat_types": webhooks.CHAT_TYPES,
        },
        status=400 if errors else 200,
    )


@ADMIN
@require_http_methods(["GET", "POST"])
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    errors, form = {}, {"name": endpoint.name, "url": endpoint.url,
                        "event_types": endpoint.event_types}  # fmt: skip
    if request.method == "POST":
        form = _form(request)
        try:
            endpoint = webhooks.endpoint_update(
                endpoint=endpoint, by=request.user, is_active="is_active" in request.POST, **form
            )
        except ValidationError as error:
            errors = error.message_dict
        else:
            messages.success(request, "Saved.")
            return redirect("webhook", pk=endpoint.pk)
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.all()))
        .order_by("-event_id")[:LOG_ROWS]
    )
    return render(
        request,
        "alignment/webhook.html",
        {
            "endpoint": endpoint,
            "deliveries": deliveries,
            "form": form,
            "errors": errors,
            "event_types": _types(endpoint.kind),
        },
        status=400 if errors else 200,
    )


def _types(kind: str) -> dict[str, str]:
    types = outbox.event_types()
    return {t: types[t] for t in webhooks.CHAT_TYPES} if kind == EndpointKind.CHAT else types


@ADMIN
@require_POST
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    webhooks.endpoint_rotate_secret(endpoint=endpoint, by=request.user)
    messages.success(request, "A new secret signs from now on; the old one also, for 24 hours.")
    return redirect("webhook", pk=pk)


@ADMIN
@require_POST
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    webhooks.endpoint_delete(endpoint=endpoint, by=request.user)
    messages.success(request, f"Deleted “{endpoint.name}”: it receives nothing more.")
    return redirect("webhooks")


@ADMIN
@require_POST
def webhook_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=pk)
    if webhooks.redeliver(delivery=delivery, by=request.user):
        messages.success(request, f"msg_{delivery.event_id} will be sent again.")
    else:
        messages.info(request, f"msg_{delivery.event_id} is already waiting to be sent.")
    return redirect("webhook", pk=delivery.endpoint_id)
