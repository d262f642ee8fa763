"""The what-if of an agreement in the API: the same figures as its page.

POST asks for it (kept, or queued once: 202 while it runs, 200 with the figures
when they are there); GET reads what is kept for a period and teams (404 when it
was never asked for). Bad periods: 400 naming the field.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from alignment import clock
from alignment.inputs import StrictFieldsMixin
from sla import whatif
from sla.api_agreements import CanDraft
from sla.models import AgreementReplay, ReplayState


class SlaWhatIfInputSerializer(StrictFieldsMixin, serializers.Serializer):
    start = serializers.CharField(required=False, allow_blank=True)
    end = serializers.CharField(required=False, allow_blank=True)
    teams = serializers.ListField(child=serializers.CharField(), required=False)


class SlaWhatIfSerializer(serializers.ModelSerializer):
    teams = serializers.ListField(child=serializers.IntegerField())
    result = serializers.JSONField(
        help_text="Per agreement (draft, in_force): totals, goals, teams, reps, months; "
        "difference: the change in plain words; empty: why there was nothing to replay."
    )

    class Meta:
        model = AgreementReplay
        fields = [
            "id",
            "agreement",
            "period_start",
            "period_end",
            "teams",
            "state",
            "progress",
            "result",
            "error",
            "requested_at",
            "finished_at",
        ]


def _period(data) -> whatif.Period:
    try:
        return whatif.replay_period(
            start=data.get("start"),
            end=data.get("end"),
            teams=data.get("teams") or [],
            now=clock.now(),
        )
    except DjangoValidationError as error:
        raise ValidationError(error.message_dict) from error


class AgreementWhatIf(APIView):
    """What an agreement would have meant over a period of real history, beside the
    agreement in force."""

    permission_classes = [IsAuthenticated, CanDraft]

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, description="First day, YYYY-MM-DD (default: 90 ago)."),
            OpenApiParameter("end", str, description="Last day, YYYY-MM-DD (default: today)."),
            OpenApiParameter("teams", int, many=True, description="Sales teams (default: all)."),
        ],
        responses={200: SlaWhatIfSerializer},
    )
    def get(self, request, pk: int):
        agreement = get_object_or_404(whatif.with_terms(), pk=pk)
        data = {**request.query_params.dict(), "teams": request.query_params.getlist("teams")}
        period = _period(data)
        row = whatif.kept(agreement=agreement, period=period, base=whatif.in_force_version())
        if row is None:
            return Response(
                {"detail": "Not replayed yet for this period and these teams: POST to ask."},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(SlaWhatIfSerializer(row).data)

    @extend_schema(
        request=SlaWhatIfInputSerializer,
        responses={200: SlaWhatIfSerializer, 202: SlaWhatIfSerializer},
    )
    def post(self, request, pk: int):
        agreement = get_object_or_404(whatif.with_terms(), pk=pk)
        given = SlaWhatIfInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        period = _period(given.validated_data)
        row = whatif.whatif_request(
            agreement=agreement, period=period, by=request.user, now=clock.now()
        )
        row.refresh_from_db()
        done = row.state == ReplayState.DONE
        return Response(
            SlaWhatIfSerializer(row).data,
            status=status.HTTP_200_OK if done else status.HTTP_202_ACCEPTED,
        )
