"""The glossary API: read stages, terms, reasons and definitions; marketers write drafts."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from alignment.inputs import query_choice
from alignment.permissions import HasCapability
from glossary import selectors, services
from glossary.models import DefinitionVersion, FunnelStage, Term
from glossary.serializers import (
    GlossaryConflictSerializer,
    GlossaryDraftCreateSerializer,
    GlossaryProposeSerializer,
    GlossaryRejectionReasonSerializer,
    GlossarySendBackSerializer,
    GlossarySignSerializer,
    GlossaryStageDetailSerializer,
    GlossaryStageSerializer,
    GlossaryTermSerializer,
    GlossaryVersionSerializer,
)

VERSION_STATUSES = ["draft", "proposed", "agreed", "superseded"]
WRITE_RESPONSES = {200: GlossaryVersionSerializer, 409: GlossaryConflictSerializer}


def _ordered_by(field: str) -> type[CursorPagination]:
    return type(f"CursorBy{field.strip('-').title()}", (CursorPagination,), {"ordering": field})


def _call(action_fn, **kwargs):
    """Run one service; its refusals become 400 (field-level) or 409 (someone was first)."""
    try:
        return action_fn(**kwargs), None
    except DjangoValidationError as error:
        raise ValidationError(error.message_dict) from error
    except services.Conflict as conflict:
        return None, Response({"detail": str(conflict)}, status=status.HTTP_409_CONFLICT)


class StageViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = FunnelStage.objects.all()
    serializer_class = GlossaryStageSerializer
    lookup_field = "key"
    pagination_class = _ordered_by("position")

    @extend_schema(responses=GlossaryStageDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        stage = self.get_object()
        in_force = selectors.definition_in_force(stage.key)
        return Response(GlossaryStageDetailSerializer(stage, context={"in_force": in_force}).data)


class TermViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = GlossaryTermSerializer
    lookup_field = "slug"
    pagination_class = _ordered_by("slug")

    def get_queryset(self):
        return Term.objects.select_related("stage").filter(
            pk__in=selectors.search_terms(self.request.query_params.get("search", "")).values("pk")
        )

    @extend_schema(parameters=[OpenApiParameter("search", str, description="Name or text")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class RejectionReasonViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = selectors.rejection_reasons()
    serializer_class = GlossaryRejectionReasonSerializer
    lookup_field = "code"
    pagination_class = _ordered_by("position")


class DefinitionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Versions of stage definitions, with their rules and signatures."""

    serializer_class = GlossaryVersionSerializer
    pagination_class = _ordered_by("-id")
    lookup_value_regex = r"\d+"

    def get_permissions(self):
        if self.action in ("create", "propose"):
            return [IsAuthenticated(), HasCapability("edit_definitions")()]
        return [IsAuthenticated()]

    def get_queryset(self):
        versions = DefinitionVersion.objects.select_related("stage", "created_by").prefetch_related(
            "rules", "rejection_reasons", "signatures__signed_by"
        )
        stage = self.request.query_params.get("stage")
        state = query_choice(self.request.query_params, "status", VERSION_STATUSES)
        if stage:
            versions = versions.filter(stage__key=stage)
        if state:
            versions = versions.filter(status=state)
        return versions

    @extend_schema(
        parameters=[
            OpenApiParameter("stage", str, description="Stage key, e.g. mql"),
            OpenApiParameter("status", str, enum=VERSION_STATUSES),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _fresh(self, pk: int) -> dict:
        return GlossaryVersionSerializer(self.get_queryset().get(pk=pk)).data

    @extend_schema(
        request=GlossaryDraftCreateSerializer, responses={201: GlossaryVersionSerializer}
    )
    def create(self, request):
        """Start a draft (marketers). Omitted parts are copied from the version in force."""
        payload = GlossaryDraftCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        stage = data.pop("stage")
        if "rules" in data and not isinstance(data["rules"], list):
            raise ValidationError({"rules": ["needs a list of rules"]})
        version, conflict = _call(services.draft_create, stage=stage, by=request.user, **data)
        if conflict:
            return conflict
        return Response(self._fresh(version.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=GlossaryProposeSerializer,
        responses={200: GlossaryVersionSerializer, 409: GlossaryConflictSerializer},
    )
    @action(detail=True, methods=["post"])
    def propose(self, request, pk=None):
        version = get_object_or_404(DefinitionVersion, pk=pk)
        payload = GlossaryProposeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        _, conflict = _call(
            services.draft_propose,
            version=version,
            by=request.user,
            expected_revision=payload.validated_data["revision"],
        )
        return conflict or Response(self._fresh(version.pk))

    @extend_schema(
        request=GlossarySignSerializer,
        responses={200: GlossaryVersionSerializer, 409: GlossaryConflictSerializer},
    )
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        """Sign for one's side (managers); the second side's signature puts it in force."""
        version = get_object_or_404(DefinitionVersion, pk=pk)
        payload = GlossarySignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        _, conflict = _call(
            services.proposal_sign,
            version=version,
            by=request.user,
            expected_revision=payload.validated_data["revision"],
            side=payload.validated_data.get("side"),
        )
        return conflict or Response(self._fresh(version.pk))

    @extend_schema(
        request=GlossarySendBackSerializer,
        responses={200: GlossaryVersionSerializer, 409: GlossaryConflictSerializer},
    )
    @action(detail=True, methods=["post"], url_path="send-back")
    def send_back(self, request, pk=None):
        version = get_object_or_404(DefinitionVersion, pk=pk)
        payload = GlossarySendBackSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        _, conflict = _call(
            services.proposal_send_back,
            version=version,
            by=request.user,
            comment=payload.validated_data["comment"],
            expected_revision=payload.validated_data.get("revision"),
        )
        return conflict or Response(self._fresh(version.pk))
