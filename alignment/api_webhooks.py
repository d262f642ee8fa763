"""The webhooks API (admins): endpoints and their subscriptions, the delivery log, redeliver.

The services (alignment.webhooks) do the work; their field-level refusals are 400s
keyed by field, as everywhere in the API.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from alignment import outbox, webhooks
from alignment.inputs import StrictFieldsMixin, query_choice
from alignment.models import (
    DeliveryState,
    EndpointKind,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from alignment.permissions import HasCapability

ADMINS = [IsAuthenticated, HasCapability("manage_organisation")]


class WebhookEndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "name", "url", "kind", "event_types", "is_active", "failing_since",
            "disabled_at", "disabled_reason", "previous_secret_until", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookEndpointSecretSerializer(WebhookEndpointSerializer):
    """An endpoint with its signing secret (its own page, creation and rotation only)."""

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=500)
    kind = serializers.ChoiceField(choices=EndpointKind.choices, default=EndpointKind.WEBHOOK)
    event_types = serializers.ListField(child=serializers.CharField(max_length=40), max_length=200)


class WebhookEndpointUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    url = serializers.CharField(max_length=500, required=False)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=40), max_length=200, required=False
    )
    is_active = serializers.BooleanField(required=False)


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["at", "status", "error", "duration_ms"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    message_id = serializers.CharField(source="event.message_id")
    event_type = serializers.CharField(source="event.event_type")
    lead = serializers.IntegerField(source="event.lead_id", allow_null=True)
    attempt_log = WebhookAttemptSerializer(many=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "endpoint", "message_id", "event_type", "lead", "state", "attempts",
            "next_attempt_at", "delivered_at", "last_status", "last_error", "attempt_log",
        ]  # fmt: skip


class EmptySerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class EventTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    description = serializers.CharField()


def _call(service, **kwargs):
    try:
        return service(**kwargs)
    except DjangoValidationError as error:
        raise ValidationError(error.message_dict) from error


class _Newest(CursorPagination):
    ordering = ("-id",)


class WebhookEndpointViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Endpoints that receive events, each with the event types it subscribes to."""

    permission_classes = ADMINS
    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    pagination_class = _Newest
    lookup_value_regex = r"\d+"

    def get_serializer_class(self):
        return (
            WebhookEndpointSecretSerializer
            if self.action == "retrieve"
            else super().get_serializer_class()
        )

    @extend_schema(
        request=WebhookEndpointCreateSerializer, responses={201: WebhookEndpointSecretSerializer}
    )
    def create(self, request):
        """Add an endpoint; the answer carries its signing secret (whsec_…)."""
        payload = WebhookEndpointCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint = _call(webhooks.endpoint_create, by=request.user, **payload.validated_data)
        return Response(
            WebhookEndpointSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=WebhookEndpointUpdateSerializer, responses={200: WebhookEndpointSerializer}
    )
    def partial_update(self, request, pk=None):
        """Change its name, address, event types, or enable / disable it."""
        payload = WebhookEndpointUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint = _call(
            webhooks.endpoint_update,
            endpoint=self.get_object(),
            by=request.user,
            **payload.validated_data,
        )
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        webhooks.endpoint_delete(endpoint=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=EmptySerializer, responses={200: WebhookEndpointSecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new secret; the previous one also signs for 24 hours."""
        EmptySerializer(data=request.data).is_valid(raise_exception=True)
        endpoint = webhooks.endpoint_rotate_secret(endpoint=self.get_object(), by=request.user)
        return Response(WebhookEndpointSecretSerializer(endpoint).data)


class WebhookDeliveryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The delivery log: each event to each endpoint, with every attempt."""

    permission_classes = ADMINS
    serializer_class = WebhookDeliverySerializer
    pagination_class = _Newest
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        deliveries = WebhookDelivery.objects.select_related("event").prefetch_related("attempt_log")
        params = self.request.query_params
        state = query_choice(params, "state", DeliveryState.values)
        if state:
            deliveries = deliveries.filter(state=state)
        endpoint = params.get("endpoint")
        if endpoint:
            if not endpoint.isdigit():
                raise ValidationError({"endpoint": ["An endpoint's id (a number)."]})
            deliveries = deliveries.filter(endpoint_id=int(endpoint))
        return deliveries

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, enum=list(DeliveryState.values)),
            OpenApiParameter("endpoint", int),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=EmptySerializer, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        """Send it again from a first attempt (delivered or given up; else nothing to do)."""
        EmptySerializer(data=request.data).is_valid(raise_exception=True)
        delivery = get_object_or_404(WebhookDelivery, pk=pk)
        webhooks.redeliver(delivery=delivery, by=request.user)
        fresh = self.get_queryset().get(pk=delivery.pk)
        return Response(WebhookDeliverySerializer(fresh).data, status=status.HTTP_202_ACCEPTED)


class EventTypeList(APIView):
    """The events an endpoint may subscribe to (their bodies: the schema's `webhooks`)."""

    permission_classes = ADMINS
    pagination_class = None

    @extend_schema(responses={200: EventTypeSerializer(many=True)})
    def get(self, request):
        rows = [{"type": t, "description": d} for t, d in outbox.event_types().items()]
        return Response(rows)
