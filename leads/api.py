"""The public leads API: ingest for integrations, actions for the browser and tools.

Status codes: 201 created, 200 existing (same source + external_id), 400 a
field error naming the field, 403 not your lead or not your role, 409 the
action is not allowed from the lead's current stage (the body says which).
The services raise them; alignment.errors answers them (REST_FRAMEWORK's
EXCEPTION_HANDLER).
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alignment import clock
from alignment.inputs import query_choice, refuse_unknown_fields
from alignment.models import User
from alignment.permissions import HasCapability
from leads import ingest, merge, selectors, serializers, services
from leads.machine import Stage
from leads.models import Lead
from leads.validation import clean_lead_input

BULK_LIMIT = 1000
CONFLICT = OpenApiResponse(serializers.ConflictSerializer, "Not allowed from the current stage")


class LeadAPIView(APIView):
    def get_lead(self, pk: int) -> Lead:
        # Acting on a lead that exists but is not yours is a 403 from the service
        # (the contract), not a 404.
        return get_object_or_404(Lead, pk=pk)

    def summary(self, lead: Lead, code: int = 200) -> Response:
        lead = Lead.objects.select_related("owner").get(pk=lead.pk)
        return Response(serializers.LeadSummarySerializer(lead).data, status=code)

    def parse(self, serializer_class, request: Request) -> dict:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class LeadPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


class LeadListCreate(LeadAPIView, ListAPIView):
    serializer_class = serializers.LeadSummarySerializer
    pagination_class = LeadPagination

    def get_permissions(self):
        if self.request.method == "POST":
            return [HasCapability("import_leads")()]
        return super().get_permissions()

    @extend_schema(
        parameters=[
            OpenApiParameter("stage", str, enum=Stage.values, description="Stage key, e.g. mql"),
            OpenApiParameter("owner", int),
            OpenApiParameter("team", int),
            OpenApiParameter("source", str),
            OpenApiParameter("campaign", int),
            OpenApiParameter("stale", bool, description="Only leads with a breached deadline"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = selectors.visible_leads(self.request.user).select_related("owner")
        params = self.request.query_params
        stage = query_choice(params, "stage", Stage.values)
        # A merged duplicate only when asked for: its events are the kept lead's.
        qs = qs.filter(stage=stage) if stage else qs.exclude(stage=Stage.MERGED)
        if params.get("source"):
            qs = qs.filter(source=params["source"])
        for name in ("owner", "team", "campaign"):
            if params.get(name):
                if not params[name].isdigit():
                    raise exceptions.ValidationError({name: ["Must be an id."]})
                qs = qs.filter(**{f"{name}_id": int(params[name])})
        stale = params.get("stale")
        if stale:
            if stale.lower() not in ("true", "false", "1", "0"):
                raise exceptions.ValidationError({"stale": ["Must be true or false."]})
            qs = qs.filter(stale_since__isnull=stale.lower() not in ("true", "1"))
        return qs

    @extend_schema(
        request=serializers.LeadInputSerializer,
        responses={201: serializers.LeadSummarySerializer, 200: serializers.LeadSummarySerializer},
        description="Create a lead, or update the one with the same source and external_id "
        "(200). Idempotent for retrying integrations.",
    )
    def post(self, request: Request) -> Response:
        data, errors = clean_lead_input(request.data)
        if errors:
            return Response(errors, status=400)
        result = ingest.lead_ingest(data=data, by=request.user, now=clock.now(), via="api")
        if result.status == "error":
            return Response(result.errors, status=400)
        return self.summary(result.lead, 201 if result.status == "created" else 200)


class LeadBulk(LeadAPIView):
    permission_classes = [HasCapability("import_leads")]

    @extend_schema(
        request=serializers.BulkInputSerializer,
        responses={200: serializers.BulkResultSerializer},
        description=f"Up to {BULK_LIMIT} leads; answers per item, in order.",
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.data, dict):
            refuse_unknown_fields(request.data, {"leads"})
        items = request.data.get("leads") if isinstance(request.data, dict) else None
        if not isinstance(items, list):
            return Response({"leads": ['Send {"leads": [...]}.']}, status=400)
        if len(items) > BULK_LIMIT:
            return Response(
                {"leads": [f"At most {BULK_LIMIT} leads per request ({len(items)} sent)."]},
                status=400,
            )
        cleaned, answers = [], [None] * len(items)
        positions = []
        for index, raw in enumerate(items):
            data, errors = clean_lead_input(raw)
            if errors:
                answers[index] = {
                    "index": index,
                    "status": "error",
                    "id": None,
                    "stage": None,
                    "errors": errors,
                }
            else:
                positions.append(index)
                cleaned.append(data)
        results = ingest.leads_ingest_bulk(
            items=cleaned, by=request.user, now=clock.now(), via="api-bulk"
        )
        for index, result in zip(positions, results, strict=True):
            answers[index] = {
                "index": index,
                "status": result.status,
                "id": result.lead.pk if result.lead else None,
                "stage": result.lead.stage if result.lead else None,
                "errors": result.errors,
            }
        return Response({"results": answers})


class LeadDetail(LeadAPIView):
    @extend_schema(responses=serializers.LeadDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        try:
            lead = selectors.lead_detail(pk, request.user)
        except Lead.DoesNotExist:
            raise exceptions.NotFound("No such lead.") from None
        return Response(serializers.LeadDetailSerializer(lead, context={"request": request}).data)


def _action(name, serializer_class, call, doc):
    class _View(LeadAPIView):
        @extend_schema(
            request=serializer_class,
            responses={200: serializers.LeadSummarySerializer, 409: CONFLICT},
            description=doc,
            operation_id=f"leads_{name}",
        )
        def post(self, request: Request, pk: int) -> Response:
            lead = self.get_lead(pk)
            data = self.parse(serializer_class, request) if serializer_class else {}
            call(lead=lead, by=request.user, now=clock.now(), data=data)
            return self.summary(lead)

    _View.__name__ = f"Lead{name.title()}"
    return _View.as_view()


def _reassign(*, lead, by, now, data):
    # An unknown id is the service's 400 ("choose a rep"), after it asked who may.
    to = User.objects.filter(pk=data["to"]).first()
    services.lead_reassign(lead=lead, by=by, to=to, now=now, note=data.get("note", ""))


accept = _action(
    "accept",
    serializers.VersionedActionSerializer,
    lambda *, lead, by, now, data: services.lead_accept(
        lead=lead, by=by, now=now, expected_version=data.get("version")
    ),
    "Accept an MQL (it becomes SAL).",
)
reject = _action(
    "reject",
    serializers.RejectSerializer,
    lambda *, lead, by, now, data: services.lead_reject(
        lead=lead,
        by=by,
        now=now,
        reason=data["reason"],
        note=data.get("note", ""),
        expected_version=data.get("version"),
    ),
    "Reject an MQL with a reason; it returns to marketing's nurture.",
)
touches = _action(
    "touch",
    serializers.TouchSerializer,
    lambda *, lead, by, now, data: services.lead_log_touch(
        lead=lead,
        by=by,
        now=now,
        kind=data["kind"],
        outcome=data["outcome"],
        note=data.get("note", ""),
        occurred_at=data.get("occurred_at"),
    ),
    "Log a call, email, meeting or social touch.",
)
qualify = _action(
    "qualify",
    serializers.VersionedActionSerializer,
    lambda *, lead, by, now, data: services.lead_qualify(
        lead=lead, by=by, now=now, expected_version=data.get("version")
    ),
    "Qualify an accepted lead (SQL).",
)
convert = _action(
    "convert",
    serializers.VersionedActionSerializer,
    lambda *, lead, by, now, data: services.lead_convert(
        lead=lead, by=by, now=now, expected_version=data.get("version")
    ),
    "Convert an SQL to an opportunity.",
)
close = _action(
    "close",
    serializers.CloseSerializer,
    lambda *, lead, by, now, data: services.lead_close(
        lead=lead,
        by=by,
        now=now,
        outcome=data["outcome"],
        amount=data.get("amount"),
        note=data.get("note", ""),
        expected_version=data.get("version"),
    ),
    "Close as won (with amount), lost or no decision.",
)
reassign = _action(
    "reassign",
    serializers.ReassignSerializer,
    _reassign,
    "Give the lead to another rep (the team's manager or the arbiter).",
)
dispute = _action(
    "dispute",
    serializers.DisputeSerializer,
    lambda *, lead, by, now, data: services.lead_dispute(
        lead=lead, by=by, now=now, reason=data["reason"]
    ),
    "Marketing disputes a rejection; it goes to the arbiter.",
)
merge_into = _action(
    "merge",
    serializers.MergeSerializer,
    lambda *, lead, by, now, data: merge.lead_merge(lead=lead, into=data["into"], by=by, now=now),
    "Merge this lead (a duplicate) into the lead `into`: both leads' events stay, shown as "
    "that lead's one history; this one is closed as merged. Marketing or an admin. 400 names "
    "`into` (itself, no such lead, merged already); 409 if either lead was merged meanwhile.",
)
