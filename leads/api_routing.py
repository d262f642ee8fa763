"""Routing in the API: the rules in force, saving a new version, and "where would this
lead go, and why?" (nothing assigned). An admin or a sales manager."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alignment.inputs import StrictFieldsMixin
from leads.assignment import where_would_it_go
from leads.models import Lead, RuleOperator
from leads.routing import can_edit, lead_fields, rules_in_force, rules_save


def _editor(request: Request) -> None:
    if not can_edit(request.user):
        raise exceptions.PermissionDenied("Only an admin or a sales manager.")


class RuleSerializer(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100)
    field = serializers.CharField(required=False, allow_blank=True, max_length=100)
    operator = serializers.ChoiceField(choices=RuleOperator.choices)
    values = serializers.JSONField(
        required=False, help_text="equals: [v]; in: [v, ...]; range: [low, high], null for open."
    )
    team = serializers.IntegerField(required=False, help_text="Id of a sales team (or give pool).")
    pool = serializers.IntegerField(required=False, help_text="Id of a pool of reps (or team).")
    on_shift = serializers.BooleanField(
        required=False, help_text="Only reps inside their working hours get its leads."
    )
    sticky = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Keep a lead with its account's (or same-email lead's) owner when they can "
        "take it.",
    )


class RulesInputSerializer(StrictFieldsMixin, serializers.Serializer):
    rules = serializers.JSONField(
        help_text="Rules (see Rule) in order, first match wins, catch-all ('any') last. "
        "Errors are keyed rules[i].name."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ExplainInputSerializer(StrictFieldsMixin, serializers.Serializer):
    lead = serializers.IntegerField(required=False, help_text="A lead's id, or give fields.")
    fields = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    attributes = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False
    )


def _rules_payload() -> dict:
    version, rules = rules_in_force()
    return {
        "version": version.number if version else None,
        "rules": [
            {
                "name": r.name,
                "field": r.field,
                "operator": r.operator,
                "values": list(r.values),
                "team": r.team_id,
                "pool": r.pool_id,
                "on_shift": r.on_shift,
                "sticky": r.sticky,
            }
            for r in rules
        ],
    }


class RoutingRules(APIView):
    @extend_schema(responses={200: None}, description="The rules in force, in order.")
    def get(self, request: Request) -> Response:
        _editor(request)
        return Response(_rules_payload())

    @extend_schema(
        request=RulesInputSerializer,
        responses={201: None},
        description="Save the rules as a new version, in force at once (audited). A rule "
        "that never matches, is hidden by an earlier one, or follows the catch-all is "
        "refused (400, naming it), as is a rule sending to a pool with no active rep; "
        "warnings name rules whose team has no rep.",
    )
    def post(self, request: Request) -> Response:
        _editor(request)
        data = RulesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version, warnings = rules_save(
            by=request.user,
            rows=data.validated_data["rules"],
            note=data.validated_data.get("note", ""),
        )
        return Response({**_rules_payload(), "warnings": warnings}, status=201)


class RoutingExplain(APIView):
    @extend_schema(
        request=ExplainInputSerializer,
        responses={200: None},
        description="Where would this lead go, and why: the rule, the team, the next rep "
        "and why others were passed over. Nothing is assigned.",
    )
    def post(self, request: Request) -> Response:
        _editor(request)
        data = ExplainInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        if "lead" in given:
            lead = Lead.objects.filter(pk=given["lead"]).first()
            if lead is None:
                raise exceptions.ValidationError({"lead": ["No such lead."]})
            fields, attributes = lead_fields(lead), lead.attributes or {}
        elif given.get("fields") or given.get("attributes"):
            fields, attributes = given.get("fields", {}), given.get("attributes", {})
        else:
            raise exceptions.ValidationError({"fields": ["Give a lead's id or its fields."]})
        return Response(where_would_it_go(fields=fields, attributes=attributes))
