"""The arbiter's decisions on escalated breaches and disputed rejections.

Each decision is one transaction: it claims the open case (compare-and-set,
so two arbiters deciding at once cannot both win), acts on the lead through
the leads services (so the lead's own log records it), and records the
decision, its reason and which side it went against.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from alignment.errors import Conflict
from alignment.models import User
from alignment.roles import perm
from leads import services as lead_services
from leads.models import Dispute, Lead
from sla import rollups, selectors
from sla.clocks import deadlines, own_spec, sync_leads
from sla.models import (
    DECISION_AGAINST,
    DECISIONS_FOR,
    ArbiterCase,
    Clock,
    ClockEvent,
    ClockEventKind,
    ClockState,
    Decision,
)


class CaseAlreadyDecided(Conflict):
    """Another arbiter decided this case first (HTTP 409)."""


def case_decide(
    *,
    case: ArbiterCase,
    by: User,
    decision: str,
    reason: str,
    now: datetime,
    to: User | None = None,
    extend_hours: Decimal | str | None = None,
) -> ArbiterCase:
    if not by.has_perm(perm("arbitrate")):
        raise PermissionDenied("Only the arbiter decides.")
    reason = (reason or "").strip()
    extension = _clean_decision(
        case=case, decision=decision, reason=reason, to=to, extend_hours=extend_hours
    )
    with transaction.atomic():
        # The lead before the case and its clocks, as every transition does: the
        # rep acting on the lead meanwhile closes this case under the same lock.
        lead = Lead.objects.select_for_update().get(pk=case.lead_id)
        claimed = ArbiterCase.objects.filter(pk=case.pk, decided_at__isnull=True).update(
            decided_at=now,
            decided_by=by,
            decision=decision,
            reason=reason,
            against_side=DECISION_AGAINST[decision],
        )
        if not claimed:
            earlier = ArbiterCase.objects.filter(pk=case.pk).values_list("reason", flat=True)
            raise CaseAlreadyDecided(
                "This case was closed first: " + (earlier.first() or "another decision.")
            )
        # Its kind, opening time and team never change after it opened: the case as read.
        rollups.record_case_decided(
            opened_at=case.opened_at,
            team_id=case.team_id,
            kind=case.kind,
            decided_at=now,
            decision=decision,
            against_side=DECISION_AGAINST[decision],
        )
        _carry_out(
            case,
            lead=lead,
            decision=decision,
            by=by,
            reason=reason,
            now=now,
            to=to,
            extension=extension,
        )
    case.refresh_from_db()
    return case


def _clean_decision(
    *, case: ArbiterCase, decision: str, reason: str, to: User | None, extend_hours
) -> Decimal | None:
    """The extension asked for (or None), once the decision's input is valid."""
    errors = {}
    if decision not in DECISIONS_FOR.get(case.kind, []):
        allowed = ", ".join(DECISIONS_FOR.get(case.kind, []))
        errors["decision"] = [f"For this case choose one of: {allowed}."]
    if not reason:
        errors["reason"] = ["Write the reason: both sides will read it."]
    elif len(reason) > 4000:
        errors["reason"] = ["At most 4000 characters."]
    if decision == Decision.REASSIGN and to is None:
        errors["to"] = ["Choose the rep who takes the lead."]
    extension = None
    if decision == Decision.EXTEND:
        try:
            extension = Decimal(str(extend_hours))
            if not (Decimal("0.25") <= extension <= Decimal("200")):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors["extend_hours"] = ["Give the extension in business hours, 0.25 to 200."]
        if case.clock_id and case.clock.extended:
            errors["decision"] = ["This deadline was extended once already."]
    if errors:
        raise ValidationError(errors)
    return extension


def _carry_out(case, *, lead, decision, by, reason, now, to, extension) -> None:
    """Do what the decision says, through the lead services, inside the caller's lock."""
    # The lead services let the arbiter act only with the case this decision is made in.
    in_case = {"by": by, "now": now, "case_id": case.pk}
    if decision == Decision.REASSIGN:
        lead_services.lead_reassign(lead=lead, to=to, note=reason, **in_case)
    elif decision == Decision.RETURN:
        lead_services.lead_return_to_marketing(lead=lead, note=reason, **in_case)
    elif decision == Decision.CLOSE:
        lead_services.lead_close(lead=lead, outcome="no_decision", note=reason, **in_case)
    elif decision == Decision.EXTEND:
        _extend(case.clock, by=by, extension=extension, now=now, reason=reason)
    elif decision in (Decision.UPHOLD, Decision.OVERTURN):
        dispute = Dispute.objects.select_related("lead").get(pk=case.dispute_id)
        lead_services.dispute_decide(
            dispute=dispute, upheld=decision == Decision.UPHOLD, note=reason, **in_case
        )


def _extend(clock: Clock, *, by: User, extension: Decimal, now: datetime, reason: str) -> None:
    """The breach stays on record; the rep gets one new deadline of the same kind."""
    clock = (
        Clock.objects.select_for_update(of=("self",))
        .select_related("lead", "team", "goal", "agreement")
        .get(pk=clock.pk)
    )
    Clock.objects.filter(pk=clock.pk).update(resolved_at=now)
    spec = own_spec(
        clock,
        selectors.calendar_for_team(clock.team) if clock.team_id else selectors.default_spec("UTC"),
    )
    warn_at, due_at = deadlines(spec, now, extension, clock.goal.warn_percent)
    fresh = Clock.objects.create(
        lead_id=clock.lead_id,
        kind=clock.kind,
        state=ClockState.RUNNING,
        agreement_id=clock.agreement_id,
        goal_id=clock.goal_id,
        owner_id=clock.lead.owner_id,
        team_id=clock.lead.team_id,
        hours=extension,
        started_at=now,
        warn_at=warn_at,
        due_at=due_at,
        extended=True,
    )
    ClockEvent.objects.create(
        clock=fresh,
        lead_id=clock.lead_id,
        kind=ClockEventKind.EXTENDED,
        occurred_at=now,
        recorded_at=now,
        actor=by,
        data={
            "from_clock": clock.pk,
            "hours": str(extension),
            "reason": reason,
            "due_at": due_at.isoformat(),
        },
    )
    sync_leads([clock.lead_id])
