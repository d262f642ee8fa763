"""Reads that are more than a filter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.db.models import Case, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404

from alignment.cosign import older_and_newer
from glossary.models import (
    DefinitionVersion,
    FunnelStage,
    MessagePlatform,
    MessageSignature,
    PersonaMessages,
    RejectionReason,
    ScoringRule,
    Signature,
    Term,
    VersionEvent,
    VersionStatus,
)
from glossary.scoring import LEAD_FIELDS


def definition_in_force(stage_key: str) -> DefinitionVersion | None:
    """The agreed version of a stage's definition, with its rules, or None."""
    return (
        DefinitionVersion.objects.select_related("stage")
        .prefetch_related("rules", "rejection_reasons")
        .filter(stage__key=stage_key, status=VersionStatus.AGREED)
        .first()
    )


def stages() -> list[FunnelStage]:
    return list(FunnelStage.objects.all())


def in_force_by_stage() -> dict[int, DefinitionVersion]:
    """stage id -> agreed version (with its signatures), for every qualifying stage."""
    versions = (
        DefinitionVersion.objects.filter(status=VersionStatus.AGREED)
        .select_related("stage")
        .prefetch_related(Prefetch("signatures", queryset=_signatures()))
        .annotate(rule_count=Count("rules"))
    )
    return {v.stage_id: v for v in versions}


def _signatures() -> QuerySet[Signature]:
    return Signature.objects.select_related("signed_by").order_by("side")


def versions_of(stage: FunnelStage) -> QuerySet[DefinitionVersion]:
    return (
        DefinitionVersion.objects.filter(stage=stage)
        .select_related("created_by", "stage")
        .prefetch_related(Prefetch("signatures", queryset=_signatures()))
        .annotate(rule_count=Count("rules"))
        .order_by("-number")
    )


def version_detail(pk: int) -> DefinitionVersion:
    return get_object_or_404(
        DefinitionVersion.objects.select_related(
            "stage", "created_by", "based_on"
        ).prefetch_related(
            "rules",
            "rejection_reasons",
            Prefetch("signatures", queryset=_signatures()),
            Prefetch("events", queryset=VersionEvent.objects.select_related("actor")),
        ),
        pk=pk,
    )


def waiting_for_signature(user) -> QuerySet[DefinitionVersion]:
    """Proposals still missing the signature of a side this person signs for."""
    from alignment.cosign import waiting_for

    proposals = (
        DefinitionVersion.objects.filter(status=VersionStatus.PROPOSED)
        .select_related("stage", "created_by")
        .prefetch_related(Prefetch("signatures", queryset=_signatures()))
        .order_by("proposed_at", "pk")
    )
    return waiting_for(proposals, signature_model=Signature, owner_field="version", user=user)


def search_terms(query: str = "") -> QuerySet[Term]:
    terms = Term.objects.select_related("stage")
    query = (query or "").strip()
    if query:
        terms = terms.filter(
            Q(name__icontains=query)
            | Q(acronym_of__icontains=query)
            | Q(definition__icontains=query)
        )
        # Names that match come before definitions that only mention the words.
        terms = terms.annotate(
            name_hit=Case(
                When(Q(name__icontains=query) | Q(acronym_of__icontains=query), then=Value(0)),
                default=Value(1),
            )
        ).order_by("name_hit", Lower("name"))
    return terms


def rejection_reasons() -> QuerySet[RejectionReason]:
    """The catalogue, each reason marked `in_force` when a definition in force lists it."""
    listed = DefinitionVersion.rejection_reasons.through.objects.filter(
        rejectionreason_id=OuterRef("pk"), definitionversion__status=VersionStatus.AGREED
    )
    return RejectionReason.objects.annotate(in_force=Exists(listed))


@dataclass(frozen=True)
class ReasonInForce:
    reason: RejectionReason
    needs_note: bool


def reasons_in_force() -> list[ReasonInForce]:
    """The reasons a rep may reject with: those the definitions in force list (co-signed,
    so neither side retires one alone). A reason needs a note where a version in force
    that lists it says so."""
    found: dict[int, ReasonInForce] = {}
    listed = (
        DefinitionVersion.rejection_reasons.through.objects.filter(
            definitionversion__status=VersionStatus.AGREED
        )
        .select_related("rejectionreason")
        .annotate(notes=F("definitionversion__notes_required"))
    )
    for row in listed:  # one query: the inbox renders these on every page
        reason = row.rejectionreason
        needs = reason.code in (row.notes or [])
        before = found.get(reason.pk)
        found[reason.pk] = ReasonInForce(reason, needs or bool(before and before.needs_note))
    return sorted(found.values(), key=lambda r: (r.reason.position, r.reason.label))


def known_fields() -> list[str]:
    """Field names offered in the rule editor: lead fields, then attributes rules use."""
    used = (
        ScoringRule.objects.exclude(field__in=LEAD_FIELDS)
        .values_list("field", flat=True)
        .distinct()
        .order_by("field")
    )
    return sorted(LEAD_FIELDS) + list(used)


# -- diff ------------------------------------------------------------------------

PROSE_FIELDS = [
    ("summary", "Change in a line"),
    ("good_lead", "What a good lead is"),
    ("not_a_lead", "What it is not"),
    ("handling", "How to handle it"),
]


def _rule_key(rule: ScoringRule, depth: int) -> tuple:
    value = json.dumps(rule.value, sort_keys=True)
    keys = [
        (rule.field, rule.operator, value, rule.points, rule.label, rule.kind),
        (rule.field, rule.operator, value),
        (rule.field, rule.operator),
        (rule.field,),
    ]
    return keys[depth]


@dataclass
class RuleChange:
    status: str  # same, changed, added, removed
    old: ScoringRule | None
    new: ScoringRule | None
    changed: list[str] = dataclass_field(default_factory=list)


@dataclass
class VersionDiff:
    old: DefinitionVersion
    new: DefinitionVersion
    prose: list[dict[str, Any]]
    threshold: tuple[int, int]
    required_added: list[str]
    required_removed: list[str]
    reasons_added: list[RejectionReason]
    reasons_removed: list[RejectionReason]
    notes_changed: list[str]  # codes whose "needs a note" changed
    rules: list[RuleChange]

    @property
    def rules_added(self) -> int:
        return sum(1 for r in self.rules if r.status == "added")

    @property
    def rules_removed(self) -> int:
        return sum(1 for r in self.rules if r.status == "removed")

    @property
    def rules_same(self) -> int:
        return sum(1 for r in self.rules if r.status == "same")

    @property
    def rules_changed(self) -> int:
        return sum(1 for r in self.rules if r.status == "changed")

    @property
    def threshold_changed(self) -> bool:
        return self.threshold[0] != self.threshold[1]

    @property
    def has_changes(self) -> bool:
        return bool(
            self.threshold_changed
            or self.required_added
            or self.required_removed
            or self.reasons_added
            or self.reasons_removed
            or self.notes_changed
            or any(p["changed"] for p in self.prose)
            or any(r.status != "same" for r in self.rules)
        )


def version_diff(old: DefinitionVersion, new: DefinitionVersion) -> VersionDiff:
    """Side by side: rules paired from the most to the least alike, then the rest."""
    old_rules, new_rules = list(old.rules.all()), list(new.rules.all())
    pairs: dict[int, RuleChange] = {}  # keyed by new rule id, or -old id for removals
    left = list(old_rules)
    right = list(new_rules)
    for depth in range(4):
        unmatched = []
        for rule in right:
            key = _rule_key(rule, depth)
            match = next((o for o in left if _rule_key(o, depth) == key), None)
            if match is None:
                unmatched.append(rule)
                continue
            left.remove(match)
            changed = [
                name
                for name in ("label", "field", "operator", "value", "points", "kind")
                if getattr(match, name) != getattr(rule, name)
            ]
            pairs[rule.pk] = RuleChange("changed" if changed else "same", match, rule, changed)
        right = unmatched
    changes = []
    for rule in new_rules:
        changes.append(pairs.get(rule.pk) or RuleChange("added", None, rule))
    changes += [RuleChange("removed", rule, None) for rule in left]
    old_required, new_required = list(old.required_fields), list(new.required_fields)
    old_reasons = {r.pk: r for r in old.rejection_reasons.all()}
    new_reasons = {r.pk: r for r in new.rejection_reasons.all()}
    return VersionDiff(
        old=old,
        new=new,
        prose=[
            {
                "name": name,
                "label": label,
                "old": getattr(old, name),
                "new": getattr(new, name),
                "changed": getattr(old, name) != getattr(new, name),
            }
            for name, label in PROSE_FIELDS
        ],
        threshold=(old.threshold, new.threshold),
        required_added=[f for f in new_required if f not in old_required],
        required_removed=[f for f in old_required if f not in new_required],
        reasons_added=[r for pk, r in new_reasons.items() if pk not in old_reasons],
        reasons_removed=[r for pk, r in old_reasons.items() if pk not in new_reasons],
        notes_changed=sorted(set(old.notes_required) ^ set(new.notes_required)),
        rules=changes,
    )


def versions_for_diff(a: int, b: int) -> tuple[DefinitionVersion, DefinitionVersion]:
    return older_and_newer(
        DefinitionVersion.objects.select_related("stage").prefetch_related(
            "rules", "rejection_reasons"
        ),
        a,
        b,
        order=lambda v: (v.stage_id, v.number),
        missing="No such version.",
    )


# -- the message platform -------------------------------------------------------------


def _platforms() -> QuerySet[MessagePlatform]:
    return MessagePlatform.objects.select_related("created_by").prefetch_related(
        "personas",
        Prefetch("signatures", queryset=MessageSignature.objects.select_related("signed_by")),
    )


def platform_in_force() -> MessagePlatform | None:
    return _platforms().filter(status=VersionStatus.AGREED).first()


def platform_detail(pk: int) -> MessagePlatform:
    return get_object_or_404(_platforms().prefetch_related("events__actor"), pk=pk)


def platform_versions() -> QuerySet[MessagePlatform]:
    return _platforms().order_by("-number")


def platforms_waiting_for_signature(user) -> QuerySet[MessagePlatform]:
    from alignment.cosign import waiting_for

    proposals = _platforms().filter(status=VersionStatus.PROPOSED).order_by("proposed_at", "pk")
    return waiting_for(
        proposals, signature_model=MessageSignature, owner_field="platform", user=user
    )


@dataclass
class PlatformDiff:
    old: MessagePlatform
    new: MessagePlatform
    value_proposition_changed: bool
    added: list[str]
    removed: list[str]
    changed: list[str]


def platform_diff(old: MessagePlatform, new: MessagePlatform) -> PlatformDiff:
    def by_name(platform):
        return {p.persona.casefold(): p for p in platform.personas.all()}

    before, after = by_name(old), by_name(new)
    fields = (
        "description",
        "match_field",
        "match_values",
        "key_messages",
        "differentiators",
        "proof_points",
    )
    return PlatformDiff(
        old=old,
        new=new,
        value_proposition_changed=old.value_proposition != new.value_proposition,
        added=[p.persona for k, p in after.items() if k not in before],
        removed=[p.persona for k, p in before.items() if k not in after],
        changed=[
            p.persona
            for k, p in after.items()
            if k in before and any(getattr(p, f) != getattr(before[k], f) for f in fields)
        ],
    )


def persona_messages_for(
    platform: MessagePlatform | None, *, fields: Mapping[str, Any], attributes: Mapping[str, Any]
) -> PersonaMessages | None:
    """The persona a lead is, by its fields or attributes (first match), in `platform`."""
    if platform is None:
        return None
    for persona in platform.personas.all():
        if not persona.match_field:
            continue
        value = fields.get(persona.match_field, attributes.get(persona.match_field))
        wanted = {v.casefold() for v in persona.match_values}
        if value is not None and str(value).strip().casefold() in wanted:
            return persona
    return None


def platform_mentions(term_name: str) -> bool:
    """Does the platform in force use this term (to link the term to it)?"""
    platform = platform_in_force()
    if platform is None:
        return False
    needle = term_name.casefold()
    texts = [platform.value_proposition] + [
        f"{p.description} {p.key_messages} {p.differentiators} {p.proof_points}"
        for p in platform.personas.all()
    ]
    return any(needle in text.casefold() for text in texts)
