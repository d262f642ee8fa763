"""The glossary API: read stages, terms, reasons and definitions; marketers write drafts."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from alignment.cosign_api import cosign_actions, cursor_by, draft_create
from alignment.permissions import HasCapability
from glossary import platform as platform_services
from glossary import selectors, services
from glossary.models import DefinitionVersion, FunnelStage, Term
from glossary.serializers import (
    GlossaryDraftCreateSerializer,
    GlossaryPlatformDraftSerializer,
    GlossaryPlatformSerializer,
    GlossaryRejectionReasonSerializer,
    GlossaryStageDetailSerializer,
    GlossaryStageSerializer,
    GlossaryTermSerializer,
    GlossaryVersionSerializer,
)


class StageViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = FunnelStage.objects.all()
    serializer_class = GlossaryStageSerializer
    lookup_field = "key"
    pagination_class = cursor_by("position")

    @extend_schema(responses=GlossaryStageDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        stage = self.get_object()
        in_force = selectors.definition_in_force(stage.key)
        return Response(GlossaryStageDetailSerializer(stage, context={"in_force": in_force}).data)


class TermViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = GlossaryTermSerializer
    lookup_field = "slug"
    pagination_class = cursor_by("slug")

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
    pagination_class = cursor_by("position")


class DefinitionViewSet(
    cosign_actions(
        spec=services.COSIGNED,
        read=GlossaryVersionSerializer,
        drafter=HasCapability("edit_definitions"),
        ordering="-id",
        list_parameters=(OpenApiParameter("stage", str, description="Stage key, e.g. mql"),),
    ),
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Versions of stage definitions, with their rules and signatures."""

    def get_queryset(self):
        versions = DefinitionVersion.objects.select_related("stage", "created_by").prefetch_related(
            "rules", "rejection_reasons", "signatures__signed_by"
        )
        stage = self.request.query_params.get("stage")
        return self.with_status(versions.filter(stage__key=stage) if stage else versions)

    create = draft_create(
        payload=GlossaryDraftCreateSerializer,
        created=GlossaryVersionSerializer,
        conflict=False,
        start=services.draft_create,
        lists=("rules",),
        doc="Start a draft (marketers). Omitted parts are copied from the version in force.",
    )


class MessagePlatformViewSet(
    cosign_actions(
        spec=platform_services.COSIGNED,
        read=GlossaryPlatformSerializer,
        drafter=HasCapability("edit_definitions"),
    ),
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Versions of the message platform, with their personas and signatures. Anyone signed
    in reads; marketers and managers draft and propose; managers sign for their side."""

    def get_queryset(self):
        return self.with_status(selectors.platform_versions())

    create = draft_create(
        payload=GlossaryPlatformDraftSerializer,
        created=GlossaryPlatformSerializer,
        start=platform_services.platform_draft_create,
        doc="Start a draft. Omitted parts are copied from the platform in force.",
    )
