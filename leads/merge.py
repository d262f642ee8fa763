"""Merging a duplicate: lead B folds into lead A (kept). Both leads' events are kept
(the log is append-only) and shown as A's one history; B moves to the stage
"merged" through the machine, so its clocks stop (the SLA listener) and it leaves
every inbox, queue and list; its page leads to A.

Bad input is a 400 naming `into` (itself, no such lead, a lead merged away
already); not marketing, a 403; a lead that moved on meanwhile (merged by someone
else a moment before), a 409. Both leads are locked in id order (the lock order
of every lead write), then each is asked of the machine.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from alignment.models import User
from leads import machine
from leads.models import Lead, LeadEvent
from leads.stages import Action, Stage
from leads.validation import CONTACT_FIELDS


def _into_id(into: Any, lead: Lead) -> int:
    text = str(into if into is not None else "").strip().lstrip("#")
    if not text.isdigit() or len(text) > 18:
        raise ValidationError({"into": ["The id of the lead to merge this one into."]})
    if int(text) == lead.pk:
        raise ValidationError({"into": ["A lead cannot be merged into itself."]})
    return int(text)


def merge_target(*, lead: Lead, into: Any) -> Lead:
    """The lead `lead` would merge into, or a ValidationError naming `into` (a plain read)."""
    target = Lead.objects.select_related("owner").filter(pk=_into_id(into, lead)).first()
    if target is None:
        raise ValidationError({"into": ["No such lead."]})
    if target.stage == Stage.MERGED:
        raise ValidationError(
            {"into": [f"Lead #{target.pk} was merged into #{target.merged_into_id}: use that one."]}
        )
    return target


def _refuse_person(lead: Lead, by: User) -> None:
    refused = machine.refusal(lead, by, Action.MERGE)
    if isinstance(refused, PermissionDenied):
        raise refused


def _filled(kept: Lead, gone: Lead) -> dict[str, Any]:
    """The contact fields the kept lead lacks and the duplicate has."""
    return {
        name: getattr(gone, name)
        for name in CONTACT_FIELDS
        if not getattr(kept, name) and getattr(gone, name)
    }


def lead_merge(*, lead: Lead, into: Any, by: User, now: datetime) -> LeadEvent:
    """Merge `lead` into the lead with id `into`; returns the kept lead's event."""
    _refuse_person(lead, by)
    target = merge_target(lead=lead, into=into)
    with transaction.atomic():
        locked = {
            row.pk: row
            for row in Lead.objects.select_for_update()
            .filter(pk__in=[lead.pk, target.pk])
            .order_by("pk")
        }
        gone, kept = locked[lead.pk], locked[target.pk]
        if kept.stage == Stage.MERGED:
            raise machine.TransitionNotAllowed(
                Action.MERGE_IN,
                kept.stage,
                f"Lead #{kept.pk} was merged into #{kept.merged_into_id} a moment ago.",
            )
        machine.transition(
            lead=gone,
            action=Action.MERGE,
            by=by,
            now=now,
            locked=True,
            changes={"merged_into": kept, "closed_at": now},
            data={"into": kept.pk, "into_name": str(kept)},
        )
        filled = _filled(kept, gone)
        event = machine.transition(
            lead=kept,
            action=Action.MERGE_IN,
            by=by,
            now=now,
            locked=True,
            changes={
                **filled,
                **({"duplicate_of": None} if kept.duplicate_of_id == gone.pk else {}),
            },
            data={"merged": gone.pk, "merged_name": str(gone), "filled": sorted(filled)},
        )
        # Its own merged leads and the leads flagged as its duplicates now point at the kept one.
        Lead.objects.filter(merged_into=gone).update(merged_into=kept)
        Lead.objects.filter(duplicate_of=gone).exclude(pk=kept.pk).update(duplicate_of=kept)
    lead.refresh_from_db()
    return event
