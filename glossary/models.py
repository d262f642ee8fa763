"""The shared lexicon: funnel stages, terms, rejection reasons and versioned definitions.

A definition version moves draft -> proposed -> agreed -> superseded (and back
from proposed to draft when a manager sends it back). Only services change a
version's status; the partial unique constraint below is the last line that
keeps one version in force per stage whatever races above it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse

from alignment.documents import (  # noqa: F401 - EventKind is read from here too
    CosignedEvent,
    CosignedSignature,
    CosignedVersion,
    EventKind,
    Side,
    Status,
    one_in_force,
    signature_constraints,
)


class StageSide(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"
    SHARED = "shared", "Shared"


class FunnelStage(models.Model):
    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    side = models.CharField(max_length=20, choices=StageSide.choices)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Order in the funnel.")
    is_outcome = models.BooleanField(default=False, help_text="A stage where a lead's story ends.")
    is_qualifying = models.BooleanField(
        default=False, help_text="Has a versioned definition both sides sign (MQL, SAL, SQL)."
    )

    class Meta:
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.name


class Term(models.Model):
    name = models.CharField(max_length=80)
    acronym_of = models.CharField(
        max_length=120, blank=True, help_text="What the acronym stands for, if it is one."
    )
    slug = models.SlugField(max_length=80, unique=True)
    definition = models.TextField()
    stage = models.ForeignKey(
        FunnelStage, null=True, blank=True, on_delete=models.SET_NULL, related_name="terms"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = [Lower("name")]
        constraints = [models.UniqueConstraint(Lower("name"), name="glossary_term_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class RejectionReason(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    requires_note = models.BooleanField(
        default=False,
        help_text="Suggested when a draft lists this reason; the definition in force decides.",
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label


# Statuses, sides and history kinds are alignment's, defined once for every
# co-signed document; these names stay for the code that reads them from here.
VersionStatus = Status
SignatureSide = Side


class DefinitionVersion(CosignedVersion):
    stage = models.ForeignKey(FunnelStage, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=200, blank=True, help_text="What changes, in a line.")
    good_lead = models.TextField("What a good lead is", blank=True)
    not_a_lead = models.TextField("What it is not", blank=True)
    handling = models.TextField("How to handle it", blank=True)
    threshold = models.IntegerField(default=0)
    required_fields = models.JSONField(default=list, blank=True)
    # Which reasons a rep may reject with, and which of them need a note, are part of
    # the signed text: neither side retires or adds a reason alone. A reason no
    # version in force lists stays readable on the leads that were rejected with it.
    rejection_reasons = models.ManyToManyField(RejectionReason, blank=True, related_name="+")
    notes_required = models.JSONField(
        default=list, blank=True, help_text="Codes of the listed reasons that need a note."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["stage__position", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "number"], name="glossary_version_number"),
            one_in_force(fields=["stage"], name="glossary_one_agreed_version_per_stage"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "proposed", "agreed", "superseded"]),
                name="glossary_version_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "proposed"]) | Q(agreed_at__isnull=False),
                name="glossary_agreed_has_agreed_at",
            ),
        ]
        indexes = [models.Index(fields=["status", "stage"], name="glossary_version_status")]

    def __str__(self) -> str:
        return f"{self.stage.name} v{self.number}"

    def index_url(self) -> str:
        return reverse("glossary:stage", args=[self.stage.key])


class Operator(models.TextChoices):
    EQUALS = "equals", "equals"
    NOT_EQUALS = "not_equals", "does not equal"
    IN = "in", "is one of"
    CONTAINS = "contains", "contains"
    GREATER_THAN = "greater_than", "is greater than"
    LESS_THAN = "less_than", "is less than"
    BETWEEN = "between", "is between"
    PRESENT = "present", "is present"
    ABSENT = "absent", "is absent"


class RuleKind(models.TextChoices):
    FIT = "fit", "Fit"
    BEHAVIOUR = "behaviour", "Behaviour"


class ScoringRule(models.Model):
    version = models.ForeignKey(DefinitionVersion, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField()
    label = models.CharField(max_length=120, blank=True)
    field = models.CharField(max_length=100)
    operator = models.CharField(max_length=20, choices=Operator.choices)
    value = models.JSONField(null=True, blank=True)
    points = models.IntegerField()
    kind = models.CharField(max_length=20, choices=RuleKind.choices, default=RuleKind.FIT)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="glossary_rule_position"),
        ]

    def __str__(self) -> str:
        return self.label or f"{self.field} {self.operator} {self.value!r}"


class Signature(CosignedSignature):
    version = models.ForeignKey(
        DefinitionVersion, on_delete=models.CASCADE, related_name="signatures"
    )

    class Meta(CosignedSignature.Meta):
        constraints = signature_constraints(owner="version", prefix="glossary")


class VersionEvent(CosignedEvent):
    """Append-only history of a version: who did what, when, and why."""

    version = models.ForeignKey(DefinitionVersion, on_delete=models.CASCADE, related_name="events")

    class Meta(CosignedEvent.Meta):
        indexes = [models.Index(fields=["version", "at"], name="glossary_event_version_at")]


# -- the message platform: the third co-signed document ---------------------------------


class MessagePlatform(CosignedVersion):
    """The master message document both sides sign: the value proposition, and for each
    buyer persona the key messages, differentiators and proof points marketing writes to
    and sales speaks to. Versioned and co-signed like a definition (alignment.cosign)."""

    number = models.PositiveIntegerField(unique=True)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=200, blank=True, help_text="What changes, in a line.")
    value_proposition = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            one_in_force(fields=["status"], name="glossary_one_message_platform_in_force"),
        ]

    def __str__(self) -> str:
        return f"Message platform v{self.number}"

    def index_url(self) -> str:
        return reverse("glossary:platform")


class PersonaMessages(models.Model):
    """What one buyer persona hears, and which leads are that persona: those whose field
    or attribute `match_field` is one of `match_values` (case-insensitive)."""

    platform = models.ForeignKey(MessagePlatform, on_delete=models.CASCADE, related_name="personas")
    position = models.PositiveSmallIntegerField()
    persona = models.CharField(max_length=80)
    description = models.TextField(blank=True, help_text="Who they are, as both sides see them.")
    match_field = models.CharField(max_length=100, blank=True)
    match_values = models.JSONField(default=list, blank=True)
    key_messages = models.TextField()
    differentiators = models.TextField(blank=True)
    proof_points = models.TextField(blank=True)

    class Meta:
        ordering = ["platform", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "position"], name="glossary_persona_position"
            ),
            models.UniqueConstraint(
                "platform", Lower("persona"), name="glossary_persona_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.persona


class MessageSignature(CosignedSignature):
    platform = models.ForeignKey(
        MessagePlatform, on_delete=models.CASCADE, related_name="signatures"
    )

    class Meta(CosignedSignature.Meta):
        constraints = signature_constraints(owner="platform", prefix="glossary_message")


class MessageEvent(CosignedEvent):
    """History of the message platform's versions: who did what, when, and why."""

    platform = models.ForeignKey(MessagePlatform, on_delete=models.CASCADE, related_name="events")
