"""API for the clock engine: a lead's clocks, breaches, and the arbiter's cases."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from alignment import clock
from alignment.inputs import StrictFieldsMixin, query_choice, query_datetime
from alignment.models import User
from alignment.permissions import HasCapability
from alignment.roles import perm
from alignment.schema import ErrorSerializer
from leads import selectors as lead_selectors
from sla import pauses
from sla.arbiter import case_decide
from sla.models import (
    ArbiterCase,
    CaseKind,
    Clock,
    ClockState,
    Decision,
    Pause,
    PauseCondition,
)


class ClockSerializer(serializers.ModelSerializer):
    goal = serializers.CharField(source="goal.label")
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)

    class Meta:
        model = Clock
        fields = [
            "id",
            "lead",
            "kind",
            "state",
            "goal",
            "owner",
            "team",
            "hours",
            "started_at",
            "warn_at",
            "due_at",
            "warned_at",
            "met_at",
            "breached_at",
            "resolved_at",
            "escalation_due_at",
            "escalated_at",
            "paused_at",
            "resume_at",
            "paused_by",
            "extended",
        ]


class PauseSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    set_by = serializers.CharField(source="set_by.username")
    ended_by = serializers.CharField(source="ended_by.username", allow_null=True, default=None)

    class Meta:
        model = Pause
        fields = [
            "id",
            "lead",
            "condition",
            "reason",
            "note",
            "owner",
            "set_by",
            "started_at",
            "ends_at",
            "ended_at",
            "ended_by",
            "end_reason",
            "held_seconds",
        ]


class PauseConditionSerializer(serializers.ModelSerializer):
    class Meta:
        model = PauseCondition
        fields = ["id", "label", "max_days"]


class LeadPausesSerializer(serializers.Serializer):
    conditions = PauseConditionSerializer(many=True, help_text="What may pause it now.")
    pauses = PauseSerializer(many=True, help_text="Its pauses, newest first.")


class PauseInputSerializer(StrictFieldsMixin, serializers.Serializer):
    condition = serializers.IntegerField(help_text="The id of one of the conditions offered.")
    note = serializers.CharField(max_length=2000, help_text="What the lead waits for.")


class PauseConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    stage = serializers.CharField(allow_null=True)


class CaseSerializer(serializers.ModelSerializer):
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)

    class Meta:
        model = ArbiterCase
        fields = [
            "id",
            "kind",
            "lead",
            "clock",
            "dispute",
            "opened_at",
            "decision",
            "against_side",
            "reason",
            "decided_by",
            "decided_at",
        ]


class DecideSerializer(StrictFieldsMixin, serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField(max_length=4000)
    to = serializers.IntegerField(required=False, help_text="Rep id, for reassign.")
    extend_hours = serializers.DecimalField(
        max_digits=6, decimal_places=2, required=False, help_text="For extend."
    )


class LeadClocks(APIView):
    @extend_schema(responses=ClockSerializer(many=True))
    def get(self, request, lead_id: int):
        if not lead_selectors.visible_leads(request.user).filter(pk=lead_id).exists():
            raise exceptions.NotFound("No such lead.")
        clocks = Clock.objects.filter(lead_id=lead_id).select_related("goal", "owner")
        return Response(ClockSerializer(clocks.order_by("started_at"), many=True).data)


class LeadPause(APIView):
    """An agreed pause of a lead's deadlines ("waiting on the prospect"): the conditions
    that may pause it now and its pauses (GET); pause it (POST, its rep or their manager)."""

    def _lead(self, request, pk: int):
        lead = lead_selectors.visible_leads(request.user).filter(pk=pk).first()
        if lead is None:
            raise exceptions.NotFound("No such lead.")
        return lead

    @extend_schema(responses=LeadPausesSerializer)
    def get(self, request, pk: int):
        lead = self._lead(request, pk)
        found = Pause.objects.filter(lead_id=lead.pk).select_related("owner", "set_by", "ended_by")
        return Response(
            LeadPausesSerializer(
                {"conditions": pauses.conditions_for(lead), "pauses": found.order_by("-started_at")}
            ).data
        )

    @extend_schema(
        request=PauseInputSerializer,
        responses={
            201: PauseSerializer,
            409: OpenApiResponse(
                PauseConflictSerializer, "Paused already, or nothing due to pause in its stage"
            ),
        },
    )
    def post(self, request, pk: int):
        lead = self._lead(request, pk)
        payload = PauseInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        # Refusals (403, 400, 409) are answered by alignment.errors.api_exception_handler.
        made = pauses.lead_pause(
            lead=lead,
            by=request.user,
            condition=payload.validated_data["condition"],
            note=payload.validated_data["note"],
            now=clock.now(),
        )
        return Response(PauseSerializer(made).data, status=201)


class BreachPagination(CursorPagination):
    ordering = ("-breached_at", "-id")
    page_size = 50


def _when(value: str, name: str) -> datetime:
    try:
        return query_datetime(value, name=name)
    except ValidationError as error:
        raise exceptions.ValidationError(error.message_dict) from None


class Breaches(ListAPIView):
    serializer_class = ClockSerializer
    pagination_class = BreachPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("team", int),
            OpenApiParameter("rep", int),
            OpenApiParameter("since", str, description="ISO 8601 time with offset"),
            OpenApiParameter("resolved", bool),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        user = self.request.user
        qs = Clock.objects.filter(state=ClockState.BREACHED).select_related("goal", "owner")
        if not user.has_perm(perm("view_dashboards")):
            if not user.has_perm(perm("work_leads")):
                raise PermissionDenied("Your role may not see breaches.")
            qs = qs.filter(owner=user)
        params = self.request.query_params
        for name, field in (("team", "team_id"), ("rep", "owner_id")):
            if params.get(name):
                if not params[name].isdigit():
                    raise exceptions.ValidationError({name: ["Must be an id."]})
                qs = qs.filter(**{field: int(params[name])})
        if params.get("since"):
            qs = qs.filter(breached_at__gte=_when(params["since"], "since"))
        resolved = params.get("resolved", "").lower()
        if resolved:
            if resolved not in ("true", "false"):
                raise exceptions.ValidationError({"resolved": ["Must be true or false."]})
            qs = qs.filter(resolved_at__isnull=resolved == "false")
        return qs


class CasePagination(CursorPagination):
    ordering = ("-opened_at", "-id")
    page_size = 50


class Cases(ListAPIView):
    serializer_class = CaseSerializer
    pagination_class = CasePagination
    permission_classes = [HasCapability("view_dashboards")]

    @extend_schema(
        parameters=[
            OpenApiParameter("open", bool),
            OpenApiParameter("kind", str, enum=CaseKind.values),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = ArbiterCase.objects.select_related("decided_by")
        params = self.request.query_params
        is_open = query_choice(params, "open", ["true", "false"])
        if is_open:
            qs = qs.filter(decided_at__isnull=is_open == "true")
        kind = query_choice(params, "kind", CaseKind.values)
        if kind:
            qs = qs.filter(kind=kind)
        return qs


class CaseDecide(APIView):
    permission_classes = [HasCapability("arbitrate")]

    @extend_schema(
        request=DecideSerializer,
        responses={
            200: CaseSerializer,
            409: OpenApiResponse(ErrorSerializer, "The case was decided already"),
        },
    )
    def post(self, request, pk: int):
        case = get_object_or_404(ArbiterCase.objects.select_related("lead", "clock"), pk=pk)
        serializer = DecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        to = None
        if data.get("to") is not None:
            to = User.objects.select_related("team").filter(pk=data["to"]).first()
            if to is None:
                return Response({"to": ["No such person."]}, status=400)
        # Refusals (400, 409) are answered by alignment.errors.api_exception_handler.
        case = case_decide(
            case=case,
            by=request.user,
            decision=data["decision"],
            reason=data["reason"],
            now=clock.now(),
            to=to,
            extend_hours=data.get("extend_hours"),
        )
        return Response(CaseSerializer(case).data)
