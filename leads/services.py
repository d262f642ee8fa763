"""What people do to a lead: the rep's actions, the manager's reassignment,
marketing's disputes and second chances, and the arbiter's word on a dispute.

Each is a keyword-only function that goes through `machine.transition`: the
machine locks the lead and decides, on the locked row, whether this person
may act now; the service's `prepare` reads the input against that row and
says what changes. Leads arrive through leads.ingest; who takes a lead is
leads.assignment.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce, Least
from django.urls import reverse

from alignment.bulk import update_rows
from alignment.models import User
from alignment.notifications import notify
from alignment.roles import perm
from glossary.selectors import reasons_in_force
from leads import machine
from leads.assignment import lead_hand_off, team_reps
from leads.machine import Change, TransitionNotAllowed
from leads.models import Dispute, DisputeStatus, Lead, Touch, TouchKind, TouchOutcome
from leads.stages import Action, Stage

MAX_NOTE = 2000
OUTCOMES = {"won": Stage.WON, "lost": Stage.LOST, "no_decision": Stage.NO_DECISION}


def _note(note: str | None, name: str = "note") -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationError({name: [f"At most {MAX_NOTE} characters."]})
    return note


# -- the rep's actions -------------------------------------------------------


def lead_accept(*, lead: Lead, by: User, now: datetime, expected_version: int | None = None):
    return machine.transition(
        lead=lead,
        action=Action.ACCEPT,
        by=by,
        now=now,
        expected_version=expected_version,
        changes={"accepted_at": now},
    )


def lead_reject(
    *,
    lead: Lead,
    by: User,
    reason: str,
    note: str = "",
    now: datetime,
    expected_version: int | None = None,
):
    def prepare(current: Lead) -> Change:
        code = (reason or "").strip()
        # The reasons that apply are those the definitions in force list (co-signed).
        listed = next((r for r in reasons_in_force() if r.reason.code == code), None)
        if listed is None:
            message = (
                f"'{code}' is not a rejection reason of the definition in force."
                if code
                else "Choose a reason."
            )
            raise ValidationError({"reason": [message]})
        reason_obj = listed.reason
        text = _note(note)
        if listed.needs_note and not text:
            raise ValidationError({"note": [f"The reason '{reason_obj.label}' needs a note."]})
        return Change(
            changes={"rejected_at": now, "rejection_reason": reason_obj, "rejection_note": text},
            data={
                "reason": reason_obj.code,
                "reason_label": reason_obj.label,
                "note": text,
                "owner": current.owner_id,
            },
        )

    return machine.transition(
        lead=lead,
        action=Action.REJECT,
        by=by,
        now=now,
        expected_version=expected_version,
        prepare=prepare,
    )


def lead_log_touch(
    *,
    lead: Lead,
    by: User,
    kind: str,
    outcome: str,
    note: str = "",
    now: datetime,
    occurred_at: datetime | None = None,
) -> Touch:
    occurred_at = occurred_at or now
    made: list[Touch] = []

    def prepare(current: Lead) -> Change:
        errors = {}
        if kind not in TouchKind.values:
            errors["kind"] = [f"Choose one of: {', '.join(TouchKind.values)}."]
        if outcome not in TouchOutcome.values:
            errors["outcome"] = [f"Choose one of: {', '.join(TouchOutcome.values)}."]
        if occurred_at > now:
            errors["occurred_at"] = ["A touch cannot be in the future."]
        if len(note or "") > MAX_NOTE:
            errors["note"] = [f"At most {MAX_NOTE} characters."]
        if errors:
            raise ValidationError(errors)
        touch = Touch.objects.create(
            lead=current,
            kind=kind,
            outcome=outcome,
            note=note or "",
            by=by,
            occurred_at=occurred_at,
        )
        made.append(touch)
        changes: dict[str, Any] = {"touch_count": current.touch_count + 1}
        if current.first_touch_at is None:
            changes["first_touch_at"] = occurred_at
        return Change(
            changes=changes,
            data={
                "touch": touch.pk,
                "kind": kind,
                "outcome": outcome,
                "note": note or "",
                "at": occurred_at.isoformat(),
            },
        )

    machine.transition(lead=lead, action=Action.TOUCH, by=by, now=now, prepare=prepare)
    return made[0]


def lead_qualify(*, lead: Lead, by: User, now: datetime, expected_version: int | None = None):
    return machine.transition(
        lead=lead,
        action=Action.QUALIFY,
        by=by,
        now=now,
        expected_version=expected_version,
        changes={"qualified_at": now},
    )


def lead_convert(*, lead: Lead, by: User, now: datetime, expected_version: int | None = None):
    return machine.transition(
        lead=lead,
        action=Action.CONVERT,
        by=by,
        now=now,
        expected_version=expected_version,
        changes={"converted_at": now},
    )


def _amount(outcome: str, amount: Any) -> Decimal | None:
    if outcome != "won":
        if amount not in (None, ""):
            raise ValidationError({"amount": ["Only a won deal has an amount."]})
        return None
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise ValidationError({"amount": ["A won deal needs its amount, a number."]}) from None
    if value < 0 or not value.is_finite() or value >= Decimal("1e12"):
        raise ValidationError({"amount": ["The amount must be between 0 and 10^12."]})
    return value


def lead_close(
    *,
    lead: Lead,
    by: User,
    outcome: str,
    amount: Any = None,
    note: str = "",
    now: datetime,
    expected_version: int | None = None,
    case_id: int | None = None,
):
    """Close as won (with its amount), lost or no decision. The arbiter closes only
    in a case, and only as no decision (sla.arbiter passes the case)."""

    def prepare(current: Lead) -> Change:
        if outcome not in OUTCOMES:
            raise ValidationError({"outcome": ["Choose won, lost or no_decision."]})
        if case_id is not None and outcome != "no_decision":
            raise ValidationError({"outcome": ["A case closes a lead as no decision."]})
        value = _amount(outcome, amount)
        return Change(
            target=OUTCOMES[outcome],
            changes={"closed_at": now, "amount": value},
            data={
                "outcome": outcome,
                "amount": str(value) if value is not None else None,
                "note": note,
                **({"case": case_id} if case_id else {}),
            },
        )

    return machine.transition(
        lead=lead,
        action=Action.CLOSE,
        by=by,
        now=now,
        expected_version=expected_version,
        prepare=prepare,
        case_id=case_id,
    )


# -- the manager's (and the arbiter's, in a case) ------------------------------


def lead_reassign(
    *, lead: Lead, by: User, to: User | None, now: datetime, note: str = "", case_id=None
):
    """Give the lead to another rep of its own team (leads.assignment.team_reps):
    the one rule for the browser, the API and the arbiter's case."""

    def prepare(current: Lead) -> Change:
        if to is None:
            raise ValidationError({"to": ["Choose a rep."]})
        if to.pk == current.owner_id:
            raise ValidationError({"to": [f"{to} already owns this lead."]})
        if not team_reps(current.team_id).filter(pk=to.pk).exists():
            raise ValidationError({"to": [f"{to} is not an active sales rep of this lead's team."]})
        changes: dict[str, Any] = {"owner": to}
        if current.stage == Stage.MQL:
            changes["handed_off_at"] = now
        return Change(
            changes=changes,
            data={
                "from": current.owner_id,
                "to": to.pk,
                "to_name": str(to),
                "note": _note(note),
                **({"case": case_id} if case_id else {}),
            },
        )

    return machine.transition(
        lead=lead, action=Action.REASSIGN, by=by, now=now, prepare=prepare, case_id=case_id
    )


def lead_return_to_marketing(
    *, lead: Lead, by: User, now: datetime, note: str = "", case_id: int | None = None
):
    return machine.transition(
        lead=lead,
        action=Action.RETURN,
        by=by,
        now=now,
        case_id=case_id,
        prepare=lambda current: Change(
            changes={"owner": None, "rejected_at": now},
            data={
                "note": note,
                "owner": current.owner_id,
                **({"case": case_id} if case_id else {}),
            },
        ),
    )


BULK_MAX = 100
BULK_ACTIONS = {"reassign": "reassigned", "return": "returned to marketing"}


def leads_act_in_bulk(
    *,
    lead_ids: list[int],
    action: str,
    by: User,
    now: datetime,
    to: User | None = None,
    note: str = "",
) -> list[Lead]:
    """A manager's action on many leads at once: each lead through the state machine
    with its own event, all or nothing (one refusal refuses the batch and names the
    lead). The leads are locked in id order, so two batches never deadlock."""
    errors: dict[str, list[str]] = {}
    if action not in BULK_ACTIONS:
        errors["action"] = ["Choose reassign or return to marketing."]
    ids = sorted(set(lead_ids))
    if not ids:
        errors["leads"] = ["Select at least one lead."]
    elif len(ids) > BULK_MAX:
        errors["leads"] = [f"At most {BULK_MAX} leads at once."]
    try:
        note = _note(note)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        leads = list(Lead.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        if len(leads) != len(ids):
            raise ValidationError({"leads": ["Some of the selected leads no longer exist."]})
        for lead in leads:
            try:
                if action == "reassign":
                    lead_reassign(lead=lead, by=by, to=to, now=now, note=note)
                else:
                    lead_return_to_marketing(lead=lead, by=by, now=now, note=note)
            except ValidationError as error:
                raise ValidationError(
                    {
                        field: [f"{lead}: {message}" for message in messages]
                        for field, messages in error.message_dict.items()
                    }
                ) from None
    return leads


# -- marketing's -------------------------------------------------------------


def lead_dispute(*, lead: Lead, by: User, reason: str, now: datetime) -> Dispute:
    made: list[Dispute] = []

    def prepare(current: Lead) -> Change:
        text = (reason or "").strip()
        if not text:
            raise ValidationError({"reason": ["Say why the rejection is wrong."]})
        text = _note(text, "reason")
        made.append(Dispute.objects.create(lead=current, raised_by=by, reason=text, created_at=now))
        return Change(data={"dispute": made[0].pk, "reason": text})

    machine.transition(lead=lead, action=Action.DISPUTE, by=by, now=now, prepare=prepare)
    return made[0]


def lead_recycle(*, lead: Lead, by: User, now: datetime, note: str = ""):
    """Marketing sends a nurtured lead to sales again (after new activity, say);
    not while its rejection is disputed (the arbiter decides that)."""
    with transaction.atomic():
        return _send_to_sales_again(lead=lead, by=by, now=now, data={"note": note})


def _send_to_sales_again(
    *, lead: Lead, by: User, now: datetime, data: dict, case_id: int | None = None
) -> object:
    """Back to MQL as if new (no owner, no rejection), then to the next rep."""
    machine.transition(
        lead=lead,
        action=Action.RECYCLE,
        by=by,
        now=now,
        case_id=case_id,
        changes={
            "owner": None,
            "rejection_reason": None,
            "rejection_note": "",
            "handed_off_at": None,
            "accepted_at": None,
        },
        data=data,
    )
    return lead_hand_off(lead=lead, now=now, by=by)


# -- the arbiter's, in a case --------------------------------------------------


def dispute_decide(
    *, dispute: Dispute, by: User, upheld: bool, note: str, now: datetime, case_id: int
) -> Dispute:
    """The arbiter's word on a disputed rejection, given in its case (sla.arbiter).
    Overturned: the lead goes back to sales, to the next rep of its team."""
    if not by.has_perm(perm("arbitrate")):
        raise PermissionDenied("Only the arbiter decides disputes.")
    with transaction.atomic():
        claimed = Dispute.objects.filter(pk=dispute.pk, status=DisputeStatus.OPEN).update(
            status=DisputeStatus.UPHELD if upheld else DisputeStatus.OVERTURNED,
            decided_by=by,
            decided_at=now,
            decision_note=note,
        )
        if not claimed:
            raise TransitionNotAllowed(
                Action.DISPUTE, dispute.lead.stage, "This dispute was already decided."
            )
        # The disputing side is told the arbiter's word (once: the claim above is once).
        notify(
            recipients=[dispute.raised_by],
            key=f"dispute:{dispute.pk}:decided",
            kind="dispute_decided",
            title=(
                f"Rejection upheld: {dispute.lead}"
                if upheld
                else f"Rejection overturned: {dispute.lead} goes to sales again"
            ),
            body=f"{by} decided: {note}",
            url=reverse("leads:detail", args=[dispute.lead_id]),
            now=now,
        )
        if not upheld:
            _send_to_sales_again(
                lead=dispute.lead,
                by=by,
                now=now,
                case_id=case_id,
                data={"note": note, "dispute": dispute.pk, "overturned": True, "case": case_id},
            )
        dispute.refresh_from_db()
        return dispute


# -- for the SLA app ---------------------------------------------------------------


def leads_set_deadlines(
    *,
    rows: list[tuple[int, datetime | None, datetime | None, datetime | None]],
    unpaused: bool = False,
) -> None:
    """For the SLA app (leads knows no clocks): per lead id, the deadline the
    inbox counts down to, when it turns amber, and since when the lead is stale;
    `unpaused`: and no agreed pause (one statement for a batch whose pauses ended)."""
    # The scan's batch of a thousand: one UPDATE … FROM unnest (bulk_update's CASE
    # costs seconds of Python and SQL at that size: a branch per lead, per column).
    columns = ("id", "action_due_at", "action_warn_at", "stale_since")
    if unpaused:
        columns += ("paused_until", "pause_reason")
        rows = [(*row, None, "") for row in rows]
    _set_columns(columns, rows)


def leads_mark_stale(*, rows: list[tuple[int, datetime]]) -> None:
    """For the SLA app's breaches: per lead id, stale since this moment unless it was
    since earlier. The deadline shown stays (the earliest one not met, which the breach
    did not meet), so one column changes: no index holds it, and the update is in
    place (see Lead.action_due_at)."""
    earliest: dict[int, datetime] = {}
    for lead_id, since in rows:  # two clocks of a lead breached at once: the earlier
        if lead_id not in earliest or since < earliest[lead_id]:
            earliest[lead_id] = since
    if connection.vendor != "postgresql":
        for lead_id, since in earliest.items():
            Lead.objects.filter(pk=lead_id).update(
                stale_since=Least(Coalesce("stale_since", Value(since)), Value(since))
            )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE leads_lead SET stale_since = LEAST(leads_lead.stale_since, u.since) "
            "FROM unnest(%s::bigint[], %s::timestamptz[]) AS u (id, since) "
            "WHERE leads_lead.id = u.id",
            [list(earliest), list(earliest.values())],
        )


def leads_mark_stale_sql(rows: str) -> str:
    """leads_mark_stale as one SQL statement, for the SLA scan to run in its own: `rows`
    is a query of (lead id, since) rows (the clocks it breaches); a lead's earliest wins."""
    return (
        "UPDATE leads_lead SET stale_since = LEAST(leads_lead.stale_since, s.since) "  # noqa: S608 - the caller's own SQL
        f"FROM (SELECT id, min(since) AS since FROM ({rows}) AS r (id, since) GROUP BY id) AS s "
        "WHERE leads_lead.id = s.id"
    )


def leads_set_attempts(*, rows: list[tuple[int, int | None]]) -> None:
    """For the SLA app: per lead id, the attempts the agreement asks before it may be
    abandoned (what "attempt 2 of 3" counts to)."""
    _set_columns(("id", "attempts_agreed"), rows)


def leads_set_pause(*, rows: list[tuple[int, datetime | None, str]]) -> None:
    """For the SLA app: per lead id, until when an agreed pause holds its clocks, and why
    (None and "" once it ends)."""
    _set_columns(("id", "paused_until", "pause_reason"), rows)


def _set_columns(columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Per row (the lead's id first), set these columns: a plain UPDATE for one lead, one
    UPDATE … FROM unnest for many on PostgreSQL, bulk_update on SQLite."""
    if not rows:
        return
    if len(rows) == 1:
        lead_id, *values = rows[0]
        Lead.objects.filter(pk=lead_id).update(**dict(zip(columns[1:], values, strict=True)))
    elif connection.vendor == "postgresql":
        update_rows(Lead, columns, rows)
    else:
        Lead.objects.bulk_update(
            [Lead(pk=row[0], **dict(zip(columns[1:], row[1:], strict=True))) for row in rows],
            list(columns[1:]),
            batch_size=500,
        )
