"""Writes: every business action on the glossary, each in one transaction with its event.

Locking order, everywhere: the stage row first, then the version row. Two
signatures that would put two versions in force serialise on the stage lock;
an edit racing a signature is caught by compare-and-set on `revision`; the
partial unique constraint is the last line, and its IntegrityError becomes
a plain Conflict for the loser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils.text import slugify

from alignment import audit, clock, cosign
from alignment.cosign import Conflict, signing_sides  # noqa: F401 - the views use them from here
from alignment.inputs import too_long
from alignment.roles import perm
from glossary import terms_cache
from glossary.models import (
    DefinitionVersion,
    EventKind,
    FunnelStage,
    RejectionReason,
    ScoringRule,
    Term,
    VersionEvent,
    VersionStatus,
)
from glossary.scoring import clean_definition


def _require(user, codename: str) -> None:
    if not user.has_perm(perm(codename)):
        raise PermissionDenied(f"Your role may not {codename.replace('_', ' ')}.")


def _event(
    *, version: DefinitionVersion, kind: str, by, now: datetime, comment: str = "", **data: Any
) -> VersionEvent:
    return VersionEvent.objects.create(
        version=version, kind=kind, actor=by, at=now, comment=comment, data=data
    )


def _write_rules(version: DefinitionVersion, rules: Sequence[Mapping[str, Any]]) -> None:
    ScoringRule.objects.filter(version=version).delete()
    ScoringRule.objects.bulk_create(
        [
            ScoringRule(
                version=version,
                position=i,
                label=rule["label"],
                field=rule["field"],
                operator=rule["operator"],
                value=rule["value"],
                points=rule["points"],
                kind=rule["kind"],
            )
            for i, rule in enumerate(rules)
        ]
    )


def _rule_dicts(version: DefinitionVersion) -> list[dict[str, Any]]:
    return [
        {
            "label": r.label,
            "field": r.field,
            "operator": r.operator,
            "value": r.value,
            "points": r.points,
            "kind": r.kind,
        }
        for r in version.rules.all()
    ]


def _reasons(codes_or_reasons: Iterable[Any] | None) -> list[RejectionReason]:
    if codes_or_reasons is None:
        return []
    items = list(codes_or_reasons)
    codes = [i for i in items if isinstance(i, str)]
    found = list(RejectionReason.objects.filter(code__in=codes)) if codes else []
    missing = set(codes) - {r.code for r in found}
    if missing:
        raise ValidationError(
            {"rejection_reasons": [f"unknown rejection reason: {', '.join(sorted(missing))}"]}
        )
    return found + [i for i in items if isinstance(i, RejectionReason)]


def _notes(notes_required: Iterable[Any] | None, reasons: list[RejectionReason]) -> list[str]:
    """The codes of the listed reasons that need a note: as given, else each reason's
    suggestion from the catalogue."""
    listed = {r.code for r in reasons}
    if notes_required is None:
        return sorted(r.code for r in reasons if r.requires_note)
    if isinstance(notes_required, str) or not all(isinstance(c, str) for c in notes_required):
        raise ValidationError({"notes_required": ["Give a list of reason codes."]})
    codes = sorted(set(notes_required))
    unlisted = [c for c in codes if c not in listed]
    if unlisted:
        raise ValidationError(
            {"notes_required": [f"not among this version's reasons: {', '.join(unlisted)}"]}
        )
    return codes


PROSE = ("summary", "good_lead", "not_a_lead", "handling")


# Long: its keyword signature is 13 lines; the body copies the version in force and
# applies the changes given, in that order.
@transaction.atomic
def draft_create(
    *,
    stage: FunnelStage,
    by,
    now: datetime | None = None,
    based_on: DefinitionVersion | None = None,
    rules: Sequence[Mapping[str, Any]] | None = None,
    threshold: int | None = None,
    required_fields: list[str] | None = None,
    rejection_reasons: Iterable[Any] | None = None,
    notes_required: Iterable[str] | None = None,
    **prose: str,
) -> DefinitionVersion:
    """A new draft, by default a copy of the version in force, with any changes given."""
    _require(by, "edit_definitions")
    now = now or clock.now()
    if not stage.is_qualifying:
        raise ValidationError({"stage": [f"{stage.name} has no versioned definition."]})
    unknown = set(prose) - set(PROSE)
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")
    # Numbering serialises on the stage row, so two drafts never share a number.
    stage = FunnelStage.objects.select_for_update().get(pk=stage.pk)
    if based_on is None:
        based_on = (
            DefinitionVersion.objects.filter(stage=stage, status=VersionStatus.AGREED)
            .prefetch_related("rules", "rejection_reasons")
            .first()
        )
    elif based_on.stage_id != stage.pk:
        raise ValidationError({"based_on": ["That version belongs to another stage."]})
    base_rules = _rule_dicts(based_on) if based_on else []
    cleaned_rules, threshold, required_fields = clean_definition(
        rules=base_rules if rules is None else rules,
        threshold=(based_on.threshold if based_on else 0) if threshold is None else threshold,
        required_fields=(based_on.required_fields if based_on else [])
        if required_fields is None
        else required_fields,
    )
    if rejection_reasons is None and based_on:
        reasons = list(based_on.rejection_reasons.all())
        notes = _notes(
            based_on.notes_required if notes_required is None else notes_required, reasons
        )
    else:
        reasons = _reasons(rejection_reasons)
        notes = _notes(notes_required, reasons)
    number = (
        DefinitionVersion.objects.filter(stage=stage).aggregate(n=Max("number"))["n"] or 0
    ) + 1
    fields = {name: getattr(based_on, name, "") if based_on else "" for name in PROSE}
    fields["summary"] = ""
    fields.update({k: (v or "").strip() for k, v in prose.items()})

    def write(version: DefinitionVersion) -> None:
        version.rejection_reasons.set(reasons)
        _write_rules(version, cleaned_rules)

    return cosign.start(
        COSIGNED,
        by=by,
        now=now,
        based_on=based_on,
        write=write,
        stage=stage,
        number=number,
        threshold=threshold,
        required_fields=required_fields,
        notes_required=notes,
        **fields,
    )


@transaction.atomic
def draft_update(
    *,
    version: DefinitionVersion,
    by,
    expected_revision: int,
    rules: Sequence[Mapping[str, Any]],
    threshold: Any,
    required_fields: Any,
    rejection_reasons: Iterable[Any] = (),
    notes_required: Iterable[str] | None = None,
    now: datetime | None = None,
    **prose: str,
) -> DefinitionVersion:
    """Replace a draft's content, if it is still the draft the editor read."""
    _require(by, "edit_definitions")
    now = now or clock.now()
    cleaned_rules, threshold, required_fields = clean_definition(
        rules=rules, threshold=threshold, required_fields=required_fields
    )
    reasons = _reasons(rejection_reasons)
    notes = _notes(notes_required, reasons)
    unknown = set(prose) - set(PROSE)
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")
    changed = DefinitionVersion.objects.filter(
        pk=version.pk, status=VersionStatus.DRAFT, revision=expected_revision
    ).update(
        revision=F("revision") + 1,
        threshold=threshold,
        required_fields=required_fields,
        notes_required=notes,
        updated_at=now,
        **{k: (v or "").strip() for k, v in prose.items()},
    )
    if not changed:
        current = DefinitionVersion.objects.filter(pk=version.pk).first()
        raise cosign.stale(current, expected_revision, action="edit")
    # Saved again, a draft sits on top of whatever is in force now (that is
    # what the signers compare it with).
    in_force = DefinitionVersion.objects.filter(
        stage_id=version.stage_id, status=VersionStatus.AGREED
    ).first()
    DefinitionVersion.objects.filter(pk=version.pk).update(based_on=in_force)
    version.refresh_from_db()
    version.rejection_reasons.set(reasons)
    _write_rules(version, cleaned_rules)
    _event(version=version, kind=EventKind.EDITED, by=by, now=now, revision=version.revision)
    return version


def _lock_stage(version: DefinitionVersion) -> None:
    FunnelStage.objects.select_for_update().get(pk=version.stage_id)


def _in_force_for_stage(version: DefinitionVersion) -> DefinitionVersion | None:
    return DefinitionVersion.objects.filter(
        stage_id=version.stage_id, status=VersionStatus.AGREED
    ).first()


def _record(version: DefinitionVersion, kind: str, by, now: datetime, **data: Any) -> None:
    _event(version=version, kind=kind, by=by, now=now, **data)


def _check(version: DefinitionVersion) -> None:
    clean_definition(
        rules=_rule_dicts(version),
        threshold=version.threshold,
        required_fields=version.required_fields,
    )


COSIGNED = cosign.Cosigned(
    model=DefinitionVersion,
    lock=_lock_stage,
    in_force=_in_force_for_stage,
    record=_record,
    rival=lambda version: f"Another {version.stage.name} version",
    may_draft=lambda user: _require(user, "edit_definitions"),
    check=_check,
    notice_key="definition",
    detail_url="glossary:version",
)

# Propose a draft, sign a proposal for one's side, send a proposal back, discard a draft
# (alignment.cosign).
draft_propose, proposal_sign, proposal_send_back, draft_discard = cosign.services(COSIGNED)


# -- terms -----------------------------------------------


TERM_FIELDS = ["name", "acronym_of", "definition", "stage"]


@transaction.atomic
def term_save(
    *,
    by,
    name: str,
    definition: str,
    acronym_of: str = "",
    stage: FunnelStage | None = None,
    term: Term | None = None,
) -> Term:
    _require(by, "edit_definitions")
    name, definition = (name or "").strip(), (definition or "").strip()
    acronym_of = (acronym_of or "").strip()
    errors: dict[str, list[str]] = too_long(Term, name=name, acronym_of=acronym_of)
    if not name:
        errors["name"] = ["Give the term a name."]
    if not definition:
        errors["definition"] = ["Say what the term means."]
    clash = Term.objects.filter(name__iexact=name)
    if term is not None:
        clash = clash.exclude(pk=term.pk)
    if name and clash.exists():
        errors["name"] = [f"“{name}” is already in the glossary."]
    if errors:
        raise ValidationError(errors)
    created = term is None
    before = audit.snapshot(term, TERM_FIELDS) if term else {}
    if term is None:
        # Room for the "-NN" that tells two equal slugs apart.
        base = slugify(name)[: Term._meta.get_field("slug").max_length - 6] or "term"
        slug, n = base, 2
        while Term.objects.filter(slug=slug).exists():
            slug, n = f"{base}-{n}", n + 1
        term = Term(slug=slug)
    term.name, term.definition, term.acronym_of, term.stage = (
        name,
        definition,
        acronym_of,
        stage,
    )
    changes = audit.diff(before, audit.snapshot(term, TERM_FIELDS))
    term.save()
    audit.record(
        by=by, action="term.create" if created else "term.update", target=term, changes=changes
    )
    transaction.on_commit(terms_cache.clear)
    return term
