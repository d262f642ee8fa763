"""Pools of reps in the API, as on the pages: listed and created, read, changed and
deleted by an admin or a sales manager; each change audited (leads.pools). A pool
the rules in force send leads to is neither emptied nor deleted (400 naming the rule)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alignment.inputs import StrictFieldsMixin
from leads import pools
from leads.models import RepPool
from leads.routing import can_edit


def _editor(request: Request) -> None:
    if not can_edit(request.user):
        raise exceptions.PermissionDenied("Only an admin or a sales manager.")


class PoolInputSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100, allow_blank=True)
    members = serializers.ListField(
        child=serializers.IntegerField(), max_length=pools.MAX_MEMBERS, help_text="Reps' ids."
    )


def _payload(pool: RepPool) -> dict:
    return {
        "id": pool.pk,
        "name": pool.name,
        "members": [
            {"id": rep.pk, "name": str(rep), "weight": rep.routing_weight}
            for rep in pool.members.all()
        ],
    }


def _live():
    return RepPool.objects.filter(deleted_at__isnull=True).prefetch_related("members")


def _pool(pk: int) -> RepPool:
    pool = _live().filter(pk=pk).first()
    if pool is None:
        raise exceptions.NotFound("No such pool.")
    return pool


def _save(request: Request, pool: RepPool | None) -> RepPool:
    data = PoolInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    saved = pools.pool_save(
        by=request.user,
        name=data.validated_data["name"],
        member_ids=data.validated_data["members"],
        pool=pool,
    )
    return _pool(saved.pk)


class Pools(APIView):
    @extend_schema(
        operation_id="v1_leads_routing_pools_list",
        responses={200: None},
        description="The pools, each with its reps.",
    )
    def get(self, request: Request) -> Response:
        _editor(request)
        return Response([_payload(p) for p in _live().order_by("name")])

    @extend_schema(
        request=PoolInputSerializer,
        responses={201: None},
        description="Create a pool (audited). 400 names the field: a name taken, a member "
        "who is not an active sales rep.",
    )
    def post(self, request: Request) -> Response:
        _editor(request)
        return Response(_payload(_save(request, None)), status=201)


class PoolDetail(APIView):
    @extend_schema(responses={200: None}, description="One pool and its reps.")
    def get(self, request: Request, pk: int) -> Response:
        _editor(request)
        return Response(_payload(_pool(pk)))

    @extend_schema(
        request=PoolInputSerializer,
        responses={200: None},
        description="Rename a pool and set its reps (audited); a pool the rules in force "
        "use cannot be emptied (400 naming the rule).",
    )
    def put(self, request: Request, pk: int) -> Response:
        _editor(request)
        return Response(_payload(_save(request, _pool(pk))))

    @extend_schema(
        responses={204: None},
        description="Delete a pool (audited; older rule versions keep naming it); refused "
        "(400 naming the rule) while the rules in force send leads to it.",
    )
    def delete(self, request: Request, pk: int) -> Response:
        _editor(request)
        pools.pool_delete(by=request.user, pool=_pool(pk))
        return Response(status=204)
