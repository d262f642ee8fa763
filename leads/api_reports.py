"""The reports as JSON: the same figures and tables the panels show and the CSV
holds (charts are drawn from these tables). Shared with the SLA dashboard API."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alignment.charts import Report
from alignment.permissions import HasCapability
from leads import reports
from leads.report_filters import FilterError
from leads.views_reports import filters_from


class TableSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(
        child=serializers.ListField(child=serializers.JSONField()),
        help_text="One list per row, in the order of `columns`.",
    )


class ChartSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    table = serializers.CharField(help_text="The key of the table the chart is drawn from.")
    unit = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField())
    values = serializers.ListField(child=serializers.FloatField())


class ReportSerializer(serializers.Serializer):
    report = serializers.CharField()
    figures = serializers.DictField(child=serializers.JSONField())
    tables = TableSerializer(many=True)
    charts = ChartSerializer(many=True)


FILTER_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (default: 30 days ago)."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, inclusive (default: today)."),
    OpenApiParameter(
        "team", OpenApiTypes.STR, description='A team id, or "all" (default: your own team).'
    ),
    OpenApiParameter("rep", OpenApiTypes.INT, description="Only this rep's leads."),
    OpenApiParameter("source", OpenApiTypes.STR, description="Only leads from this source."),
    OpenApiParameter("campaign", OpenApiTypes.INT, description="Only leads of this campaign."),
]


def report_api(name: str, build: Callable[..., Report], summary: str, tag: str) -> type[APIView]:
    """An API view that returns one report for the filters in the query string."""

    class ReportAPI(APIView):
        permission_classes = [HasCapability("view_dashboards")]

        @extend_schema(
            operation_id=f"{tag}_report_{name}",
            summary=summary,
            tags=[tag],
            parameters=FILTER_PARAMETERS,
            responses={200: ReportSerializer},
        )
        def get(self, request: Request) -> Response:
            try:
                filters, teams = filters_from(request)
            except FilterError as exc:
                return Response({"detail": str(exc)}, status=400)
            return Response(build(filters, teams).as_json())

    ReportAPI.__name__ = f"{name.title()}ReportAPI"
    return ReportAPI


FunnelAPI = report_api(
    "funnel", lambda f, t: reports.funnel(f), "Funnel, outcomes, cost per revenue dollar", "leads"
)
HandoffAPI = report_api(
    "handoff", lambda f, t: reports.handoff_quality(f), "Handoff quality", "leads"
)
ScoringAPI = report_api(
    "scoring", lambda f, t: reports.scoring(f), "Score bands and ROC AUC per version", "leads"
)
