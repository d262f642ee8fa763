"""Business actions on leads. Each is a keyword-only function that runs in a
transaction, checks who may do it, goes through the state machine and leaves
a LeadEvent behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q

from alignment import clock
from alignment.models import Side, Team, User
from alignment.roles import ROLE_NAMES, Role, perm
from glossary.models import RejectionReason
from glossary.scoring import compile_definition
from glossary.selectors import definition_in_force
from leads import machine
from leads.machine import OPEN_STAGES, Action, Stage, TransitionNotAllowed
from leads.models import (
    Campaign,
    Dispute,
    DisputeStatus,
    Lead,
    LeadEvent,
    RoundRobinCursor,
    Territory,
    Touch,
    TouchKind,
    TouchOutcome,
)
from leads.validation import CONTACT_FIELDS


class LeadChanged(Exception):
    """Someone else changed the lead since this person loaded it (HTTP 409)."""

    def __init__(self, lead: Lead):
        self.stage = lead.stage
        super().__init__(
            f"This lead changed while you were looking at it: it is now {lead.get_stage_display()}"
            + (f", owned by {lead.owner}" if lead.owner_id else "")
            + ". Reload to see what happened."
        )


# -- who may act -------------------------------------------------------------


def manages_team(user: User, team_id: int | None) -> bool:
    if user.has_perm(perm("manage_organisation")):
        return True
    if not team_id or not user.has_perm(perm("manage_team")):
        return False
    return Team.objects.filter(pk=team_id, manager=user).exists()


def check_can_work(lead: Lead, user: User) -> None:
    """The owner works a lead; the manager of its team may step in."""
    if not user.has_perm(perm("work_leads")) and not user.has_perm(perm("manage_organisation")):
        raise PermissionDenied("Only sales may act on leads.")
    if lead.owner_id == user.pk:
        return
    if manages_team(user, lead.team_id):
        return
    raise PermissionDenied("This lead belongs to another rep.")


# -- the one way a lead changes ----------------------------------------------


def transition(
    *,
    lead: Lead,
    action: str,
    by: User | None,
    now: datetime,
    target: str | None = None,
    changes: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    expected_version: int | None = None,
    locked: bool = False,
) -> LeadEvent:
    """Check the machine, run guards, apply, record the event, call listeners.

    The row is locked first, so of two people acting at once one wins and the
    other gets TransitionNotAllowed (or LeadChanged) with the current stage.
    """
    with transaction.atomic():
        current = lead if locked else Lead.objects.select_for_update().get(pk=lead.pk)
        if expected_version is not None and current.version != expected_version:
            raise LeadChanged(current)
        new_stage = machine.check(action, current.stage, target)
        machine.run_guards(lead=current, action=action, target=new_stage, by=by, now=now)
        from_stage = current.stage
        for name, value in (changes or {}).items():
            setattr(current, name, value)
        current.stage = new_stage
        current.version += 1
        current.updated_at = now
        current.save()
        event = LeadEvent.objects.create(
            lead=current,
            kind=action,
            actor=by,
            occurred_at=now,
            from_stage=from_stage,
            to_stage=new_stage,
            data=data or {},
        )
        machine.notify_listeners([event])
    # The caller's object reflects what was written.
    if current is not lead:
        lead.__dict__.update({k: v for k, v in current.__dict__.items() if not k.startswith("_")})
    return event


# -- assignment --------------------------------------------------------------


class Assigner:
    """Round-robin within the team that covers a lead's country.

    For one request (one lead or a bulk of a thousand) it locks each team's
    cursor once, reads the eligible reps and their open-lead counts once, and
    rotates in memory. Two requests assigning at once queue on the cursor lock,
    so neither skips a rep by accident.
    """

    def __init__(self) -> None:
        self._territories: dict[str, int] | None = None
        self._teams: dict[int, dict[str, Any]] = {}

    def team_for(self, country: str) -> int | None:
        if self._territories is None:
            self._territories = {
                c.lower(): t for c, t in Territory.objects.values_list("country", "team_id")
            }
        return self._territories.get((country or "").strip().lower(), self._territories.get("*"))

    def _state(self, team_id: int) -> dict[str, Any]:
        state = self._teams.get(team_id)
        if state is None:
            RoundRobinCursor.objects.get_or_create(team_id=team_id)
            cursor = RoundRobinCursor.objects.select_for_update().get(team_id=team_id)
            reps = list(
                User.objects.filter(
                    team_id=team_id,
                    is_active=True,
                    is_away=False,
                    groups__name=ROLE_NAMES[Role.SALES_REP],
                )
                .annotate(
                    open_leads=Count("owned_leads", filter=Q(owned_leads__stage__in=OPEN_STAGES))
                )
                .order_by("pk")
            )
            state = {"cursor": cursor, "reps": reps, "dirty": False}
            self._teams[team_id] = state
        return state

    def next_rep(self, team_id: int) -> User | None:
        state = self._state(team_id)
        reps = [r for r in state["reps"] if r.open_leads < r.capacity]
        if not reps:
            return None
        last = state["cursor"].last_user_id or 0
        rep = next((r for r in reps if r.pk > last), reps[0])
        rep.open_leads += 1
        state["cursor"].last_user_id = rep.pk
        state["dirty"] = True
        return rep

    def save(self) -> None:
        for state in self._teams.values():
            if state["dirty"]:
                state["cursor"].save(update_fields=["last_user"])
                state["dirty"] = False


def _hand_off_changes(lead: Lead, assigner: Assigner, now: datetime) -> dict[str, Any] | None:
    team_id = assigner.team_for(lead.country)
    if team_id is None:
        return None
    rep = assigner.next_rep(team_id)
    return {
        "team_id": team_id,
        "owner": rep,
        "handed_off_at": now if rep else None,
    }


def lead_hand_off(*, lead: Lead, now: datetime, by: User | None = None) -> LeadEvent | None:
    """Give an MQL to the next rep of the team covering it. None if nobody can take it."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        assigner = Assigner()
        changes = _hand_off_changes(lead, assigner, now)
        if changes is None or changes["owner"] is None:
            if changes is not None and lead.team_id != changes["team_id"]:
                Lead.objects.filter(pk=lead.pk).update(team_id=changes["team_id"])
            return None
        event = transition(
            lead=lead,
            action=Action.HAND_OFF,
            by=by,
            now=now,
            changes=changes,
            locked=True,
            data={
                "to": changes["owner"].pk,
                "to_name": str(changes["owner"]),
                "team": changes["team_id"],
            },
        )
        assigner.save()
        return event


# -- ingest ------------------------------------------------------------------


@dataclass
class IngestResult:
    lead: Lead | None
    status: str  # "created" | "updated" | "error"
    errors: dict[str, list[str]] = field(default_factory=dict)


def _score(data: dict[str, Any], compiled) -> tuple[int | None, dict, bool]:
    if compiled is None:
        return None, {}, False
    fields = {name: data.get(name, "") for name in (*CONTACT_FIELDS, "source")}
    result = compiled.score(fields=fields, attributes=data.get("attributes", {}))
    return result.points, result.as_stored(), result.qualified


class _Scorer:
    """The MQL definition in force, read once per request."""

    def __init__(self) -> None:
        self.version = definition_in_force("mql")
        self.compiled = compile_definition(self.version) if self.version else None

    def __call__(self, data: dict[str, Any]) -> tuple[int | None, dict, bool]:
        return _score(data, self.compiled)


def _check_campaigns(items: list[dict[str, Any]]) -> set[int]:
    wanted = {i["campaign"] for i in items if i.get("campaign")}
    return (
        set(Campaign.objects.filter(pk__in=wanted).values_list("pk", flat=True))
        if wanted
        else set()
    )


def _new_lead(data: dict[str, Any], scorer: _Scorer, now: datetime) -> Lead:
    points, explanation, qualified = scorer(data)
    return Lead(
        source=data["source"],
        external_id=data.get("external_id", ""),
        **{name: data.get(name, "") for name in CONTACT_FIELDS},
        attributes=data.get("attributes", {}),
        campaign_id=data.get("campaign"),
        score=points,
        score_explanation=explanation,
        definition_version=scorer.version if points is not None else None,
        stage=Stage.MQL if qualified else Stage.INQUIRY,
        created_at=now,
        updated_at=now,
    )


def _merge_update(lead: Lead, data: dict[str, Any]) -> bool:
    """A source sends the lead again: take its newer values. True if anything changed."""
    changed = False
    attributes = {**lead.attributes, **data.get("attributes", {})}
    if attributes != lead.attributes:
        lead.attributes = attributes
        changed = True
    for name in CONTACT_FIELDS:
        value = data.get(name, "")
        if value and value != getattr(lead, name):
            setattr(lead, name, value)
            changed = True
    if data.get("campaign") and data["campaign"] != lead.campaign_id:
        lead.campaign_id = data["campaign"]
        changed = True
    return changed


def _via(by: User | None, via: str) -> dict[str, Any]:
    return {"via": via}


def lead_ingest(
    *, data: dict[str, Any], by: User | None, now: datetime | None = None, via: str = "api"
) -> IngestResult:
    """Create a lead from clean data (leads.validation), or update the one with the
    same source and external id. Idempotent: sending the same data twice changes
    nothing the second time. A qualifying lead is handed off at once."""
    now = now or clock.now()
    results = leads_ingest_bulk(items=[data], by=by, now=now, via=via)
    return results[0]


def leads_ingest_bulk(
    *, items: list[dict[str, Any]], by: User | None, now: datetime | None = None, via: str = "api"
) -> list[IngestResult]:
    """Ingest many clean items in one transaction, answering per item.

    New leads are inserted with one bulk INSERT, their events with another; if a
    concurrent request inserted one of the same leads first, the batch falls
    back to one-by-one so that each item still ends as created or updated.
    """
    now = now or clock.now()
    results: list[IngestResult | None] = [None] * len(items)
    campaigns = _check_campaigns(items)
    valid: list[int] = []
    for index, item in enumerate(items):
        if item.get("campaign") and item["campaign"] not in campaigns:
            results[index] = IngestResult(None, "error", {"campaign": ["No such campaign."]})
        else:
            valid.append(index)
    try:
        with transaction.atomic():
            _ingest_batch(items, valid, results, by=by, now=now, via=via)
    except IntegrityError:
        # Lost a race with a concurrent request for the same source+external_id:
        # do the batch again one item at a time; each now sees the other's row.
        for index in valid:
            with transaction.atomic():
                _ingest_batch(items, [index], results, by=by, now=now, via=via)
    return results  # type: ignore[return-value]


def _ingest_batch(items, indexes, results, *, by, now, via) -> None:
    keyed = {}
    for index in indexes:
        item = items[index]
        if item.get("external_id"):
            keyed.setdefault((item["source"], item["external_id"]), []).append(index)
    existing: dict[tuple[str, str], Lead] = {}
    if keyed:
        ids = {ext for _, ext in keyed}
        for lead in Lead.objects.select_for_update().filter(external_id__in=ids):
            if (lead.source, lead.external_id) in keyed:
                existing[(lead.source, lead.external_id)] = lead
    scorer = _Scorer()
    assigner = Assigner()
    to_create: list[tuple[Lead, list[int]]] = []
    seen: set[tuple[str, str]] = set()
    updated: list[tuple[Lead, list[int]]] = []
    for index in indexes:
        item = items[index]
        key = (item["source"], item.get("external_id", ""))
        if item.get("external_id"):
            if key in seen:
                continue
            seen.add(key)
            group = keyed[key]
            if key in existing:
                updated.append((existing[key], group))
                continue
            # The same lead twice in one request: one lead with the later values.
            merged = items[group[0]]
            for later in group[1:]:
                merged = {
                    **merged,
                    **{k: v for k, v in items[later].items() if v},
                    "attributes": {**merged["attributes"], **items[later]["attributes"]},
                }
            to_create.append((_new_lead(merged, scorer, now), group))
        else:
            to_create.append((_new_lead(item, scorer, now), [index]))

    hand_offs: dict[int, dict[str, Any]] = {}
    for position, (lead, _) in enumerate(to_create):
        if lead.stage == Stage.MQL:
            changes = _hand_off_changes(lead, assigner, now)
            if changes:
                lead.team_id = changes["team_id"]
                if changes["owner"] is not None:
                    lead.owner = changes["owner"]
                    lead.handed_off_at = now
                    hand_offs[position] = changes
    created = Lead.objects.bulk_create([lead for lead, _ in to_create])
    events = []
    via_data = _via(by, via)
    for position, lead in enumerate(created):
        events.append(
            LeadEvent(
                lead=lead,
                kind=Action.INGEST,
                actor=by,
                occurred_at=now,
                from_stage="",
                to_stage=lead.stage,
                data={
                    **via_data,
                    "score": lead.score,
                    "definition_version": lead.definition_version_id,
                },
            )
        )
        if position in hand_offs:
            owner = hand_offs[position]["owner"]
            events.append(
                LeadEvent(
                    lead=lead,
                    kind=Action.HAND_OFF,
                    actor=None,
                    occurred_at=now,
                    from_stage=lead.stage,
                    to_stage=lead.stage,
                    data={"to": owner.pk, "to_name": str(owner), "team": lead.team_id},
                )
            )
    for (lead, group), _ in zip(to_create, created, strict=True):
        for n, index in enumerate(group):
            results[index] = IngestResult(lead, "created" if n == 0 else "updated")

    for lead, group in updated:
        changed = False
        for index in group:
            changed = _merge_update(lead, items[index]) or changed
        if changed:
            lead.version += 1
            lead.updated_at = now
            lead.save()
            events.append(
                LeadEvent(
                    lead=lead,
                    kind=Action.UPDATE,
                    actor=by,
                    occurred_at=now,
                    from_stage=lead.stage,
                    to_stage=lead.stage,
                    data=via_data,
                )
            )
        for index in group:
            results[index] = IngestResult(lead, "updated")
    _insert_events(events)
    assigner.save()
    machine.notify_listeners(events)
    # An updated inquiry may qualify on its new data (outside the bulk path: rare).
    for lead, _ in updated:
        if lead.stage == Stage.INQUIRY and scorer.compiled is not None:
            points, explanation, qualified = scorer(
                {
                    **{n: getattr(lead, n) for n in CONTACT_FIELDS},
                    "source": lead.source,
                    "attributes": lead.attributes,
                }
            )
            if qualified:
                transition(
                    lead=lead,
                    action=Action.RESCORE,
                    by=by,
                    now=now,
                    locked=True,
                    changes={
                        "score": points,
                        "score_explanation": explanation,
                        "definition_version": scorer.version,
                    },
                    data={"score": points, "definition_version": scorer.version.pk},
                )
                lead_hand_off(lead=lead, now=now)


def _insert_events(events: list[LeadEvent]) -> None:
    """Append many events in one statement.

    On PostgreSQL a plain multi-row INSERT through psycopg2's execute_values:
    the ORM's bulk_create spent as long preparing each value as the database
    spent inserting them (a third of a 1,000-lead bulk ingest).
    """
    if not events:
        return
    if connection.vendor != "postgresql":
        LeadEvent.objects.bulk_create(events)
        return
    from psycopg2.extras import execute_values

    rows = [
        (
            e.lead_id or e.lead.pk,
            e.kind,
            e.actor_id,
            e.occurred_at,
            e.from_stage,
            e.to_stage,
            json.dumps(e.data, cls=DjangoJSONEncoder),
        )
        for e in events
    ]
    with connection.cursor() as cursor:
        ids = execute_values(
            cursor.cursor,
            "INSERT INTO leads_leadevent"
            " (lead_id, kind, actor_id, occurred_at, from_stage, to_stage, data)"
            " VALUES %s RETURNING id",
            rows,
            page_size=len(rows),
            fetch=True,
        )
    for event, (pk,) in zip(events, ids, strict=True):
        event.pk = event.id = pk


# -- the rep's actions -------------------------------------------------------


def lead_accept(*, lead: Lead, by: User, now: datetime, expected_version: int | None = None):
    check_can_work(lead, by)
    return transition(
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
    check_can_work(lead, by)
    code = (reason or "").strip()
    reason_obj = RejectionReason.objects.filter(code=code, is_active=True).first()
    if reason_obj is None:
        raise ValidationError(
            {
                "reason": [
                    f"'{code}' is not an active rejection reason." if code else "Choose a reason."
                ]
            }
        )
    note = (note or "").strip()
    if reason_obj.requires_note and not note:
        raise ValidationError({"note": [f"The reason '{reason_obj.label}' needs a note."]})
    if len(note) > 2000:
        raise ValidationError({"note": ["At most 2000 characters."]})
    return transition(
        lead=lead,
        action=Action.REJECT,
        by=by,
        now=now,
        expected_version=expected_version,
        changes={"rejected_at": now, "rejection_reason": reason_obj, "rejection_note": note},
        data={
            "reason": reason_obj.code,
            "reason_label": reason_obj.label,
            "note": note,
            "owner": lead.owner_id,
        },
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
    check_can_work(lead, by)
    errors = {}
    if kind not in TouchKind.values:
        errors["kind"] = [f"Choose one of: {', '.join(TouchKind.values)}."]
    if outcome not in TouchOutcome.values:
        errors["outcome"] = [f"Choose one of: {', '.join(TouchOutcome.values)}."]
    occurred_at = occurred_at or now
    if occurred_at > now:
        errors["occurred_at"] = ["A touch cannot be in the future."]
    if len(note or "") > 2000:
        errors["note"] = ["At most 2000 characters."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        changes = {"touch_count": locked.touch_count + 1}
        if locked.first_touch_at is None:
            changes["first_touch_at"] = occurred_at
        touch = Touch.objects.create(
            lead=locked,
            kind=kind,
            outcome=outcome,
            note=note or "",
            by=by,
            occurred_at=occurred_at,
        )
        transition(
            lead=locked,
            action=Action.TOUCH,
            by=by,
            now=now,
            locked=True,
            changes=changes,
            data={
                "touch": touch.pk,
                "kind": kind,
                "outcome": outcome,
                "note": note or "",
                "at": occurred_at.isoformat(),
            },
        )
    lead.__dict__.update({k: v for k, v in locked.__dict__.items() if not k.startswith("_")})
    return touch


def lead_qualify(*, lead: Lead, by: User, now: datetime, expected_version: int | None = None):
    check_can_work(lead, by)
    return transition(
        lead=lead,
        action=Action.QUALIFY,
        by=by,
        now=now,
        expected_version=expected_version,
        changes={"qualified_at": now},
    )


def lead_convert(*, lead: Lead, by: User, now: datetime, expected_version: int | None = None):
    check_can_work(lead, by)
    return transition(
        lead=lead,
        action=Action.CONVERT,
        by=by,
        now=now,
        expected_version=expected_version,
        changes={"converted_at": now},
    )


def lead_close(
    *,
    lead: Lead,
    by: User,
    outcome: str,
    amount: Any = None,
    note: str = "",
    now: datetime,
    expected_version: int | None = None,
):
    arbiter = by.has_perm(perm("arbitrate"))
    if not arbiter:
        check_can_work(lead, by)
        if lead.stage == Stage.MQL:
            raise TransitionNotAllowed(
                Action.CLOSE, lead.stage, "Accept or reject a new lead; it cannot be closed yet."
            )
    targets = {"won": Stage.WON, "lost": Stage.LOST, "no_decision": Stage.NO_DECISION}
    if outcome not in targets:
        raise ValidationError({"outcome": ["Choose won, lost or no_decision."]})
    value = None
    if outcome == "won":
        try:
            value = Decimal(str(amount))
        except (InvalidOperation, ValueError):
            raise ValidationError({"amount": ["A won deal needs its amount, a number."]}) from None
        if value < 0 or not value.is_finite() or value >= Decimal("1e12"):
            raise ValidationError({"amount": ["The amount must be between 0 and 10^12."]})
    elif amount not in (None, ""):
        raise ValidationError({"amount": ["Only a won deal has an amount."]})
    return transition(
        lead=lead,
        action=Action.CLOSE,
        by=by,
        now=now,
        target=targets[outcome],
        expected_version=expected_version,
        changes={"closed_at": now, "amount": value},
        data={
            "outcome": outcome,
            "amount": str(value) if value is not None else None,
            "note": note,
        },
    )


def lead_reassign(*, lead: Lead, by: User, to: User, now: datetime, note: str = ""):
    if not manages_team(by, lead.team_id) and not (by.has_perm(perm("arbitrate"))):
        raise PermissionDenied("Only the manager of the lead's team (or the arbiter) may reassign.")
    if to.pk == lead.owner_id:
        raise ValidationError({"to": [f"{to} already owns this lead."]})
    if (
        not to.is_active
        or not to.has_perm(perm("work_leads"))
        or to.team is None
        or (to.team.side != Side.SALES)
    ):
        raise ValidationError({"to": [f"{to} is not an active sales rep."]})
    previous = lead.owner_id
    changes = {"owner": to, "team_id": to.team_id}
    if lead.stage == Stage.MQL:
        changes["handed_off_at"] = now
    return transition(
        lead=lead,
        action=Action.REASSIGN,
        by=by,
        now=now,
        changes=changes,
        data={"from": previous, "to": to.pk, "to_name": str(to), "note": note},
    )


def lead_return_to_marketing(*, lead: Lead, by: User, now: datetime, note: str = ""):
    if not manages_team(by, lead.team_id) and not by.has_perm(perm("arbitrate")):
        raise PermissionDenied("Only the team's manager or the arbiter may return a lead.")
    return transition(
        lead=lead,
        action=Action.RETURN,
        by=by,
        now=now,
        changes={"owner": None, "rejected_at": now},
        data={"note": note, "owner": lead.owner_id},
    )


def lead_dispute(*, lead: Lead, by: User, reason: str, now: datetime) -> Dispute:
    if not by.has_perm(perm("dispute_rejections")):
        raise PermissionDenied("Only marketing may dispute a rejection.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the rejection is wrong."]})
    if len(reason) > 2000:
        raise ValidationError({"reason": ["At most 2000 characters."]})
    if lead.rejection_reason_id is None:
        raise TransitionNotAllowed(
            Action.DISPUTE, lead.stage, "Only a rejected lead can be disputed."
        )
    with transaction.atomic():
        if Dispute.objects.filter(lead=lead, status=DisputeStatus.OPEN).exists():
            raise ValidationError({"reason": ["This rejection is already disputed."]})
        dispute = Dispute.objects.create(lead=lead, raised_by=by, reason=reason, created_at=now)
        transition(
            lead=lead,
            action=Action.DISPUTE,
            by=by,
            now=now,
            data={"dispute": dispute.pk, "reason": reason},
        )
    return dispute


def dispute_decide(
    *, dispute: Dispute, by: User, upheld: bool, note: str, now: datetime
) -> Dispute:
    """The arbiter's word on a disputed rejection. Overturned: the lead goes back
    to sales, to the next rep of its team."""
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
        if not upheld:
            _send_to_sales_again(
                lead=dispute.lead,
                by=by,
                now=now,
                data={"note": note, "dispute": dispute.pk, "overturned": True},
            )
        dispute.refresh_from_db()
        return dispute


def lead_recycle(*, lead: Lead, by: User, now: datetime, note: str = ""):
    """Marketing sends a nurtured lead to sales again (after new activity, say)."""
    if not by.has_perm(perm("import_leads")):
        raise PermissionDenied("Only marketing may send a lead to sales again.")
    with transaction.atomic():
        return _send_to_sales_again(lead=lead, by=by, now=now, data={"note": note})


def _send_to_sales_again(*, lead: Lead, by: User, now: datetime, data: dict) -> LeadEvent | None:
    """Back to MQL as if new (no owner, no rejection), then to the next rep."""
    transition(
        lead=lead,
        action=Action.RECYCLE,
        by=by,
        now=now,
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


def leads_set_deadlines(
    *, rows: list[tuple[int, datetime | None, datetime | None, datetime | None]]
) -> None:
    """For the SLA app (leads knows no clocks): per lead id, the deadline the
    inbox counts down to, when it turns amber, and since when the lead is stale."""
    if not rows:
        return
    if len(rows) == 1:  # one lead: a plain UPDATE, not bulk_update's CASE
        lead_id, due, warn, stale = rows[0]
        Lead.objects.filter(pk=lead_id).update(
            action_due_at=due, action_warn_at=warn, stale_since=stale
        )
        return
    if connection.vendor == "postgresql":
        # The scan's batch of a thousand: one UPDATE … FROM unnest. bulk_update's CASE
        # costs seconds of Python and SQL at that size (a branch per lead, per column).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE leads_lead SET action_due_at = u.due, action_warn_at = u.warn, "
                "stale_since = u.stale FROM unnest(%s::bigint[], %s::timestamptz[], "
                "%s::timestamptz[], %s::timestamptz[]) AS u(id, due, warn, stale) "
                "WHERE leads_lead.id = u.id",
                [list(column) for column in zip(*rows, strict=True)],
            )
        return
    Lead.objects.bulk_update(
        [
            Lead(pk=lead_id, action_due_at=due, action_warn_at=warn, stale_since=stale)
            for lead_id, due, warn, stale in rows
        ],
        ["action_due_at", "action_warn_at", "stale_since"],
        batch_size=500,
    )
