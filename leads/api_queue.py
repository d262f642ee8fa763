"""The queues in the API: what waits for a rep per team, and a manager's assignment."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from alignment import clock
from alignment.inputs import StrictFieldsMixin
from alignment.models import User
from leads import selectors
from leads.api import CONFLICT, LeadAPIView
from leads.assignment import lead_assign
from leads.models import Lead
from leads.serializers import LeadSummarySerializer

QUEUE_LIMIT = 200


class QueuedLeadSerializer(LeadSummarySerializer):
    class Meta(LeadSummarySerializer.Meta):
        fields = [*LeadSummarySerializer.Meta.fields, "queued_at", "action_due_at"]


class AssignSerializer(StrictFieldsMixin, serializers.Serializer):
    to = serializers.IntegerField(help_text="The id of the rep to take the lead.")


class LeadQueue(LeadAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "team",
                str,
                description='A team id you manage, or "none" (admin): the '
                "organisation's queue. Default: your first.",
            )
        ],
        responses=QueuedLeadSerializer(many=True),
        description=f"A queue's leads, oldest first (at most {QUEUE_LIMIT}).",
    )
    def get(self, request: Request) -> Response:
        queues = dict(selectors.queues_of(request.user))
        if not queues:
            raise exceptions.PermissionDenied("Only a sales team's manager or an admin.")
        key = request.query_params.get("team") or next(iter(queues))
        if key not in queues:
            if key != "none" and not key.isdigit():
                raise exceptions.ValidationError({"team": ['A team id or "none".']})
            raise exceptions.PermissionDenied("You do not manage that team.")
        leads = selectors.queued(key).select_related("owner")[:QUEUE_LIMIT]
        return Response(QueuedLeadSerializer(leads, many=True).data)


class LeadAssign(LeadAPIView):
    @extend_schema(
        request=AssignSerializer,
        responses={200: LeadSummarySerializer, 409: CONFLICT},
        description="Give a queued lead to a rep of its team (its manager, or an admin).",
        operation_id="leads_assign",
    )
    def post(self, request: Request, pk: int) -> Response:
        lead: Lead = self.get_lead(pk)
        data = self.parse(AssignSerializer, request)
        to = User.objects.filter(pk=data["to"]).first()
        lead_assign(lead=lead, to=to, by=request.user, now=clock.now())
        return self.summary(lead)
