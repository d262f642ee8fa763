"""The API every co-signed document answers: propose, sign and send back, written once.

A use builds its viewset on `cosign_actions(...)`, naming its alignment.cosign spec,
the serializer that reads a version, who drafts and who signs. Refusals travel as
exceptions: alignment.errors answers a Conflict with 409, a ValidationError with 400
naming the field, PermissionDenied with 403.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from alignment import cosign
from alignment.documents import Side, Status
from alignment.inputs import StrictFieldsMixin, query_choice
from alignment.schema import ErrorSerializer


class CosignRevisionSerializer(StrictFieldsMixin, serializers.Serializer):
    revision = serializers.IntegerField(help_text="The revision you read, from GET.")


class CosignSignSerializer(CosignRevisionSerializer):
    side = serializers.ChoiceField(
        choices=Side.choices, required=False, help_text="Needed by who may sign for both."
    )


class CosignSendBackSerializer(StrictFieldsMixin, serializers.Serializer):
    comment = serializers.CharField(help_text="What should change, for the author.")
    revision = serializers.IntegerField(required=False)


class CosignSignatureSerializer(serializers.Serializer):
    """A signature on any co-signed version."""

    side = serializers.ChoiceField(choices=Side.choices, read_only=True)
    signed_by = serializers.CharField(source="signed_by.username", read_only=True)
    signed_at = serializers.DateTimeField(read_only=True)
    revision = serializers.IntegerField(read_only=True, help_text="The revision signed.")


# What every version answers besides its own content.
VERSION_FIELDS = [
    "status",
    "revision",
    "based_on",
    "summary",
    "signatures",
    "created_by",
    "created_at",
    "updated_at",
    "proposed_at",
    "agreed_at",
    "superseded_at",
]

STATUSES = list(Status.values)

CONFLICT = OpenApiResponse(
    ErrorSerializer, "Someone was first, the version moved on, or one person signed twice"
)


def cursor_by(field: str) -> type[CursorPagination]:
    """Cursor pages in the order of `field` ("-number": newest first)."""
    return type(f"CursorBy{field.strip('-').title()}", (CursorPagination,), {"ordering": field})


def draft_create(
    *,
    payload: type[serializers.Serializer],
    created: type[serializers.Serializer],
    start,
    doc: str,
    lists: tuple[str, ...] = (),
    conflict: bool = True,
):
    """A use's `create`, with its schema: `payload` in, 201 with the draft as `created`
    reads it (and 409 where `conflict`); `doc` is its description. The work is the
    viewset's `start_draft` with `start`, the service, and `lists`."""

    def create(self, request):
        return self.start_draft(request, payload=payload, start=start, lists=lists)

    create.__doc__ = doc
    responses = {201: created, 409: CONFLICT} if conflict else {201: created}
    return extend_schema(request=payload, responses=responses)(create)


# Long: a class factory; the list and the three actions it returns are defined in
# it, each of them short.


def cosign_actions(
    *,
    spec: cosign.Cosigned,
    read: type[serializers.Serializer],
    drafter: type[BasePermission],
    signer: type[BasePermission] | None = None,
    ordering: str = "-number",
    list_parameters: tuple[OpenApiParameter, ...] = (),
) -> type:
    """A viewset mixin with the list (filtered by `?status=`, then by `list_parameters` in
    the use's `get_queryset`) and the three actions, each answering the version as it is
    now. `drafter` may create and propose; `signer` (else the service) decides who signs."""
    responses = {200: read, 409: CONFLICT}
    model = spec.model

    def _answer(view, pk) -> Response:
        return Response(read(view.get_queryset().get(pk=pk)).data)

    def _payload(request, serializer_class) -> dict:
        payload = serializer_class(data=request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data

    class CosignActions:
        serializer_class = read
        pagination_class = cursor_by(ordering)
        lookup_value_regex = r"\d+"

        def start_draft(self, request, *, payload, start, lists=()) -> Response:
            """A use's `create`: `payload` read strictly, each part named in `lists` a list
            (else 400 naming it), `start(by=..., **data)` the service; 201 with the draft."""
            data = dict(_payload(request, payload))
            for name in lists:
                if name in data and not isinstance(data[name], list):
                    raise ValidationError({name: [f"needs a list of {name}."]})
            version = start(by=request.user, **data)
            return Response(
                read(self.get_queryset().get(pk=version.pk)).data, status=status.HTTP_201_CREATED
            )

        def with_status(self, versions):
            state = query_choice(self.request.query_params, "status", STATUSES)
            return versions.filter(status=state) if state else versions

        @extend_schema(
            parameters=[*list_parameters, OpenApiParameter("status", str, enum=STATUSES)]
        )
        def list(self, request, *args, **kwargs):
            return super().list(request, *args, **kwargs)

        def get_permissions(self):
            if self.action in ("create", "propose"):
                return [IsAuthenticated(), drafter()]
            if signer is not None and self.action in ("sign", "send_back"):
                return [IsAuthenticated(), signer()]
            return [IsAuthenticated()]

        @extend_schema(request=CosignRevisionSerializer, responses=responses)
        @action(detail=True, methods=["post"], url_path="propose", url_name="propose")
        def propose(self, request, pk=None):
            """Ask both sides to sign this draft, exactly as it reads now."""
            version = get_object_or_404(model, pk=pk)
            data = _payload(request, CosignRevisionSerializer)
            cosign.propose(
                spec, version=version, by=request.user, expected_revision=data["revision"]
            )
            return _answer(self, version.pk)

        @extend_schema(request=CosignSignSerializer, responses=responses)
        @action(detail=True, methods=["post"], url_path="sign", url_name="sign")
        def sign(self, request, pk=None):
            """Sign for one's side (managers); the second side's signature, by another
            person, puts it in force."""
            version = get_object_or_404(model, pk=pk)
            data = _payload(request, CosignSignSerializer)
            cosign.sign(
                spec,
                version=version,
                by=request.user,
                expected_revision=data["revision"],
                side=data.get("side"),
            )
            return _answer(self, version.pk)

        @extend_schema(request=CosignSendBackSerializer, responses=responses)
        @action(detail=True, methods=["post"], url_path="send-back", url_name="send-back")
        def send_back(self, request, pk=None):
            """Return a proposal to draft with a comment (managers); signatures lapse."""
            version = get_object_or_404(model, pk=pk)
            data = _payload(request, CosignSendBackSerializer)
            cosign.send_back(
                spec,
                version=version,
                by=request.user,
                comment=data["comment"],
                expected_revision=data.get("revision"),
            )
            return _answer(self, version.pk)

    return CosignActions
