"""The SLA API for agreements (read; drafts, propose, sign, send back) and calendars (read).

Services do the work: their field-level refusals become 400 keyed like
`goals[2].accept_hours`, permission refusals 403, and "someone else was
first" (sla.agreements.Conflict) 409 with a sentence saying what happened.
"""

from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import BasePermission

from alignment.cosign_api import (
    VERSION_FIELDS,
    CosignSignatureSerializer,
    cosign_actions,
    cursor_by,
    draft_create,
)
from alignment.inputs import StrictFieldsMixin
from sla import agreements
from sla.models import (
    Agreement,
    AgreementSignature,
    BusinessCalendar,
    Closure,
    FollowUpThrough,
    PauseCondition,
    SalesGoal,
    TeamCommitment,
    WorkingInterval,
)

# --- shapes --------------------------------------------------------------------------------


class SlaGoalSerializer(serializers.ModelSerializer):
    match_values = serializers.ListField(child=serializers.CharField())
    is_catch_all = serializers.BooleanField(read_only=True)

    class Meta:
        model = SalesGoal
        fields = [
            "position",
            "label",
            "min_score",
            "match_field",
            "match_values",
            "accept_hours",
            "first_touch_hours",
            "min_attempts",
            "attempt_days",
            "followup_days",
            "followup_through",
            "warn_percent",
            "is_catch_all",
        ]


class SlaPauseConditionSerializer(serializers.ModelSerializer):
    class Meta:
        model = PauseCondition
        fields = ["id", "position", "label", "max_days"]


class SlaCommitmentSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)

    class Meta:
        model = TeamCommitment
        fields = ["team", "team_name", "monthly_mqls"]


# Described for API readers; a choice set of its own also names its own schema enum
# (SlaAgreementStatusEnum) rather than colliding with the glossary's version status.
AGREEMENT_STATUS_CHOICES = [
    ("draft", "Draft: being written, may change"),
    ("proposed", "Proposed: waiting for a marketing and a sales signature"),
    ("agreed", "In force: signed by both sides"),
    ("superseded", "Superseded by a later version"),
]


class SlaAgreementSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=AGREEMENT_STATUS_CHOICES, read_only=True)
    created_by = serializers.CharField(source="created_by.username")
    based_on = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    goals = SlaGoalSerializer(many=True, read_only=True)
    commitments = SlaCommitmentSerializer(many=True, read_only=True)
    pause_conditions = SlaPauseConditionSerializer(many=True, read_only=True)
    signatures = CosignSignatureSerializer(many=True, read_only=True)

    class Meta:
        model = Agreement
        fields = [
            "id",
            "number",
            "min_acceptance_rate",
            "max_incomplete_rate",
            "escalation_hours",
            "assign_hours",
            "pause_when_away",
            "restart_on_reassign",
            "clock_calendar",
            "goals",
            "commitments",
            "pause_conditions",
            *VERSION_FIELDS,
        ]


class SlaGoalInputSerializer(StrictFieldsMixin, serializers.Serializer):
    """Documents a goal's shape; sla.agreements checks the values (errors keyed goals[i].x)."""

    label = serializers.CharField(max_length=100)
    min_score = serializers.IntegerField(required=False, allow_null=True)
    match_field = serializers.CharField(required=False, allow_blank=True, max_length=100)
    match_values = serializers.ListField(child=serializers.CharField(), required=False)
    accept_hours = serializers.DecimalField(max_digits=6, decimal_places=2)
    first_touch_hours = serializers.DecimalField(max_digits=6, decimal_places=2)
    min_attempts = serializers.IntegerField(required=False, default=3)
    attempt_days = serializers.IntegerField(required=False, default=5)
    followup_days = serializers.IntegerField(required=False, allow_null=True)
    followup_through = serializers.ChoiceField(
        choices=FollowUpThrough.choices, required=False, default=FollowUpThrough.OPPORTUNITY
    )
    warn_percent = serializers.IntegerField(required=False, default=75)


class SlaPauseConditionInputSerializer(StrictFieldsMixin, serializers.Serializer):
    """Documents a pause condition's shape (errors keyed pause_conditions[i].x)."""

    label = serializers.CharField(max_length=100)
    max_days = serializers.IntegerField(help_text="The longest pause, in business days, 1-60.")


class SlaCommitmentInputSerializer(StrictFieldsMixin, serializers.Serializer):
    team = serializers.IntegerField(help_text="Id of a sales team.")
    monthly_mqls = serializers.IntegerField()


class SlaAgreementDraftSerializer(StrictFieldsMixin, serializers.Serializer):
    """Every part is optional: what is left out is copied from `based_on` (default: in force)."""

    based_on = serializers.PrimaryKeyRelatedField(
        queryset=Agreement.objects.all(), required=False, help_text="Defaults to the one in force."
    )
    summary = serializers.CharField(required=False, allow_blank=True)
    min_acceptance_rate = serializers.JSONField(required=False, help_text="Percent, 0-100.")
    max_incomplete_rate = serializers.JSONField(required=False, help_text="Percent, 0-100.")
    escalation_hours = serializers.JSONField(required=False, help_text="Business hours, 0-1000.")
    assign_hours = serializers.JSONField(
        required=False, help_text="Business hours a queued lead waits for a rep at most, 0-1000."
    )
    pause_when_away = serializers.JSONField(required=False, help_text="true or false.")
    restart_on_reassign = serializers.JSONField(required=False, help_text="true or false.")
    clock_calendar = serializers.JSONField(
        required=False,
        help_text="What a rep's clocks (accept, first touch, follow-up) count business time "
        'on: "team" (the team\'s business calendar) or "rep" (the rep\'s own working hours '
        "in their zone, the team's holidays still closed; no hours set: the team's).",
    )
    goals = serializers.JSONField(
        required=False,
        help_text="List of goals (see SlaGoalInput), first match wins, catch-all last. "
        "Errors are keyed goals[i].name.",
    )
    commitments = serializers.JSONField(
        required=False,
        help_text="List of {team, monthly_mqls} for sales teams. Errors are keyed "
        "commitments[i].name.",
    )
    pause_conditions = serializers.JSONField(
        required=False,
        help_text="List of {label, max_days} (see SlaPauseConditionInput): what else pauses "
        "a lead's clocks. Errors are keyed pause_conditions[i].name.",
    )


class SlaIntervalSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkingInterval
        fields = ["weekday", "start", "end"]


class SlaClosureSerializer(serializers.ModelSerializer):
    class Meta:
        model = Closure
        fields = ["first_day", "last_day", "reason"]


class SlaCalendarSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True, default=None)
    week = SlaIntervalSerializer(source="intervals", many=True, read_only=True)
    closures = SlaClosureSerializer(many=True, read_only=True)

    class Meta:
        model = BusinessCalendar
        fields = [
            "id",
            "name",
            "team",
            "team_name",
            "time_zone",
            "holiday_country",
            "holiday_subdivision",
            "week",
            "closures",
            "revision",
            "updated_at",
        ]


# --- endpoints -----------------------------------------------------------------------------


class CanDraft(BasePermission):
    message = "Only marketers and managers may draft agreements."

    def has_permission(self, request, view):
        return agreements.can_draft(request.user)


class CanSign(BasePermission):
    message = "Only a marketing manager or a sales manager may do this."

    def has_permission(self, request, view):
        return bool(agreements.signing_sides(request.user))


class AgreementViewSet(
    cosign_actions(
        spec=agreements.COSIGNED,
        read=SlaAgreementSerializer,
        drafter=CanDraft,
        signer=CanSign,
    ),
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Versions of the service-level agreement, with goals, commitments and signatures."""

    def get_queryset(self):
        versions = Agreement.objects.select_related("created_by").prefetch_related(
            "goals",
            "pause_conditions",
            Prefetch("commitments", queryset=TeamCommitment.objects.select_related("team")),
            Prefetch("signatures", queryset=AgreementSignature.objects.select_related("signed_by")),
        )
        return self.with_status(versions)

    create = draft_create(
        payload=SlaAgreementDraftSerializer,
        created=SlaAgreementSerializer,
        start=agreements.agreement_draft_create,
        lists=("goals", "commitments", "pause_conditions"),
        doc="Start a draft (marketers, managers of either side); omitted parts copy the base.",
    )


class CalendarViewSet(viewsets.ReadOnlyModelViewSet):
    """Business calendars: time zone, public holidays' country, working week and closures."""

    serializer_class = SlaCalendarSerializer
    pagination_class = cursor_by("name")
    lookup_value_regex = r"\d+"
    queryset = BusinessCalendar.objects.select_related("team").prefetch_related(
        "intervals", "closures"
    )
