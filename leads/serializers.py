from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alignment.inputs import BoundedDateTimeField, StrictFieldsMixin
from leads import machine
from leads.machine import Stage
from leads.models import Lead, LeadEvent, TouchKind, TouchOutcome


class LeadInputSerializer(StrictFieldsMixin, serializers.Serializer):
    """Documents the lead input; leads.validation.clean_lead_input does the cleaning."""

    source = serializers.CharField(max_length=100)
    external_id = serializers.CharField(max_length=255, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    country = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)
    attributes = serializers.DictField(required=False, help_text="Free key-values.")
    campaign = serializers.IntegerField(required=False, allow_null=True)


class BulkInputSerializer(StrictFieldsMixin, serializers.Serializer):
    leads = LeadInputSerializer(many=True, help_text="At most 1,000 leads.")


class OwnerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")
    username = serializers.CharField()


class LeadSummarySerializer(serializers.ModelSerializer):
    owner = OwnerSerializer(allow_null=True)
    stage = serializers.ChoiceField(choices=Stage.choices)
    team = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    rejection_reason = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    is_stale = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "source",
            "external_id",
            "email",
            "first_name",
            "last_name",
            "company",
            "title",
            "country",
            "stage",
            "score",
            "owner",
            "team",
            "campaign",
            "definition_version",
            "rejection_reason",
            "rejection_note",
            "handed_off_at",
            "accepted_at",
            "first_touch_at",
            "qualified_at",
            "closed_at",
            "action_due_at",
            "stale_since",
            "is_stale",
            "version",
            "created_at",
            "updated_at",
            "account",
            "duplicate_of",
            "merged_into",
        ]
        read_only_fields = ["account", "duplicate_of", "merged_into"]

    def get_is_stale(self, lead) -> bool:
        return lead.stale_since is not None


class LeadEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = LeadEvent
        fields = ["id", "kind", "actor", "occurred_at", "from_stage", "to_stage", "data"]


class LeadDetailSerializer(LeadSummarySerializer):
    events = LeadEventSerializer(many=True)
    allowed_actions = serializers.SerializerMethodField(
        help_text="What you may do to this lead now (the same answer the browser's forms follow)."
    )

    class Meta(LeadSummarySerializer.Meta):
        fields = [
            *LeadSummarySerializer.Meta.fields,
            "phone",
            "attributes",
            "score_explanation",
            "amount",
            "touch_count",
            "events",
            "allowed_actions",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(machine.VERBS)))
    def get_allowed_actions(self, lead) -> list[str]:
        return machine.allowed_actions(lead, self.context["request"].user)


class IngestResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "updated", "error"])
    id = serializers.IntegerField(allow_null=True)
    stage = serializers.CharField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class BulkResultSerializer(serializers.Serializer):
    results = IngestResultSerializer(many=True, help_text="One answer per lead sent, in order.")


class VersionedActionSerializer(StrictFieldsMixin, serializers.Serializer):
    version = serializers.IntegerField(
        required=False, help_text="The lead's version you saw; 409 if it changed since."
    )


class RejectSerializer(VersionedActionSerializer):
    reason = serializers.CharField(help_text="A rejection reason code from the glossary.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class TouchSerializer(StrictFieldsMixin, serializers.Serializer):
    kind = serializers.ChoiceField(choices=TouchKind.choices)
    outcome = serializers.ChoiceField(choices=TouchOutcome.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    occurred_at = BoundedDateTimeField(required=False)


class CloseSerializer(VersionedActionSerializer):
    outcome = serializers.ChoiceField(choices=["won", "lost", "no_decision"])
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ReassignSerializer(StrictFieldsMixin, serializers.Serializer):
    to = serializers.IntegerField(help_text="The id of the rep to take the lead.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class DisputeSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class MergeSerializer(StrictFieldsMixin, serializers.Serializer):
    into = serializers.IntegerField(
        help_text="The id of the lead to keep: this lead's events join its history."
    )


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    stage = serializers.CharField(allow_null=True)
    missing = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="A guard's refusal: what must happen first (e.g. the agreed attempts).",
    )
