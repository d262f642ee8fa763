"""API shapes. No business rules here: validation of rules lives in glossary.scoring."""

from rest_framework import serializers

from alignment.cosign_api import VERSION_FIELDS, CosignSignatureSerializer
from alignment.inputs import StrictFieldsMixin
from glossary.models import (
    DefinitionVersion,
    FunnelStage,
    MessagePlatform,
    PersonaMessages,
    RejectionReason,
    ScoringRule,
    Term,
)
from glossary.scoring import KINDS, OPERATORS


class GlossaryStageSerializer(serializers.ModelSerializer):
    class Meta:
        model = FunnelStage
        fields = ["key", "name", "side", "description", "position", "is_outcome", "is_qualifying"]


class GlossaryTermSerializer(serializers.ModelSerializer):
    stage = serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True)

    class Meta:
        model = Term
        fields = ["slug", "name", "acronym_of", "definition", "stage", "updated_at"]


class GlossaryRejectionReasonSerializer(serializers.ModelSerializer):
    in_force = serializers.BooleanField(
        read_only=True, help_text="A definition in force lists it: reps may reject with it."
    )

    class Meta:
        model = RejectionReason
        fields = ["code", "label", "description", "requires_note", "in_force"]
        extra_kwargs = {
            "requires_note": {"help_text": "Suggested for drafts; each version decides."}
        }


class GlossaryRuleSerializer(serializers.ModelSerializer):
    value = serializers.JSONField(allow_null=True)

    class Meta:
        model = ScoringRule
        fields = ["position", "label", "field", "operator", "value", "points", "kind"]


class GlossaryVersionSerializer(serializers.ModelSerializer):
    stage = serializers.SlugRelatedField(slug_field="key", read_only=True)
    created_by = serializers.CharField(source="created_by.username")
    based_on = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    rules = GlossaryRuleSerializer(many=True, read_only=True)
    signatures = CosignSignatureSerializer(many=True, read_only=True)
    rejection_reasons = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    notes_required = serializers.ListField(child=serializers.CharField(), read_only=True)
    required_fields = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = DefinitionVersion
        fields = [
            "id",
            "stage",
            "number",
            "good_lead",
            "not_a_lead",
            "handling",
            "threshold",
            "required_fields",
            "rules",
            "rejection_reasons",
            "notes_required",
            *VERSION_FIELDS,
        ]


class GlossaryStageDetailSerializer(GlossaryStageSerializer):
    in_force = serializers.SerializerMethodField()

    class Meta(GlossaryStageSerializer.Meta):
        fields = [*GlossaryStageSerializer.Meta.fields, "in_force"]

    def get_in_force(self, stage) -> int | None:
        version = self.context.get("in_force")
        return version.pk if version else None


class GlossaryRuleInputSerializer(StrictFieldsMixin, serializers.Serializer):
    """Documents a rule's shape; the values are checked by glossary.scoring."""

    label = serializers.CharField(required=False, allow_blank=True, max_length=120)
    field = serializers.CharField(max_length=100)
    operator = serializers.ChoiceField(choices=OPERATORS)
    value = serializers.JSONField(required=False, allow_null=True)
    points = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=KINDS, required=False, default="fit")


class GlossaryDraftCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    stage = serializers.SlugRelatedField(
        slug_field="key", queryset=FunnelStage.objects.filter(is_qualifying=True)
    )
    summary = serializers.CharField(required=False, allow_blank=True, max_length=200)
    good_lead = serializers.CharField(required=False, allow_blank=True)
    not_a_lead = serializers.CharField(required=False, allow_blank=True)
    handling = serializers.CharField(required=False, allow_blank=True)
    threshold = serializers.JSONField(
        required=False, help_text="Whole number; defaults to the version in force."
    )
    required_fields = serializers.JSONField(
        required=False, help_text="List of field names; defaults to the version in force."
    )
    rules = serializers.JSONField(
        required=False,
        help_text="List of rules (label, field, operator, value, points, kind); "
        "defaults to the rules in force. Errors are keyed rules[i].name.",
    )
    rejection_reasons = serializers.ListField(
        child=serializers.SlugField(),
        required=False,
        help_text="Reason codes; defaults to the version in force.",
    )
    notes_required = serializers.ListField(
        child=serializers.SlugField(),
        required=False,
        help_text="Which of those reasons need a note; defaults to the version in force, "
        "or to each reason's suggestion when the reasons are given.",
    )


class GlossaryPersonaSerializer(serializers.ModelSerializer):
    match_values = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = PersonaMessages
        fields = [
            "position",
            "persona",
            "description",
            "match_field",
            "match_values",
            "key_messages",
            "differentiators",
            "proof_points",
        ]


class GlossaryPlatformSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username")
    based_on = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    personas = GlossaryPersonaSerializer(many=True, read_only=True)
    signatures = CosignSignatureSerializer(many=True, read_only=True)

    class Meta:
        model = MessagePlatform
        fields = ["id", "number", "value_proposition", "personas", *VERSION_FIELDS]


class GlossaryPlatformDraftSerializer(StrictFieldsMixin, serializers.Serializer):
    summary = serializers.CharField(required=False, allow_blank=True, max_length=200)
    value_proposition = serializers.CharField(
        required=False, allow_blank=True, help_text="Defaults to the platform in force."
    )
    personas = serializers.JSONField(
        required=False,
        help_text="List of {persona, description, match_field, match_values, key_messages, "
        "differentiators, proof_points}; defaults to the platform in force. Errors are "
        "keyed personas[i].name.",
    )
