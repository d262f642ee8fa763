"""The lead state machine: what may happen to a lead, who may do it, and the
one writer of what happened.

Three tables, read by everything that acts on a lead or offers to:
  TRANSITIONS  from which stages each action starts, and where it goes;
  PEOPLE       who may take the actions a person takes, and what else must
               hold first (an owner to accept, no open dispute to recycle);
  guards       what other apps (registered from above) refuse, e.g. the SLA's
               "enough attempts before a lead is abandoned".

`allowed_actions(lead, user)` answers the templates, the views and the API
from those tables. Two writers, and no other code, set `lead.stage` or write a
LeadEvent (tests/leads/test_machine.py reads the source tree to hold it so):
  transition()      one lead: locks its row and asks every question of the
                    locked row, not of the caller's copy;
  step() + write()  many leads (ingest, the CSV history import): each row is
                    asked of the same tables in memory, then all their events
                    are written in one statement.
Both call the registered listeners with the events in the same transaction
(the SLA app moves its clocks there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction

from alignment.bulk import insert_rows, new_instance
from alignment.errors import Conflict
from alignment.models import Team, User
from alignment.registry import Registry
from alignment.roles import perm
from leads import rollups
from leads.models import Dispute, DisputeStatus, Lead, LeadEvent
from leads.stages import (  # noqa: F401 - the machine's vocabulary, imported from here
    CLOSED_STAGES,
    HISTORY_STAGES,
    OPEN_STAGES,
    SALES_WORKING,
    Action,
    Stage,
)

# The "stage" a lead comes from when it is born (an event's blank from_stage).
NO_STAGE = ""
UNMERGED = tuple(s for s in Stage.values if s != Stage.MERGED)
# A won lead holds revenue: the duplicate is merged into it, never it into another.
MERGEABLE = tuple(s for s in UNMERGED if s != Stage.WON)


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    # None: the stage does not change (a touch, a reassignment); a tuple: the
    # caller names one of these targets (close: won / lost / no decision).
    targets: tuple[str, ...] | None


TRANSITIONS: dict[str, Transition] = {
    Action.INGEST: Transition((NO_STAGE,), (Stage.INQUIRY, Stage.MQL)),
    Action.IMPORT_HISTORY: Transition((NO_STAGE,), HISTORY_STAGES),
    Action.RESCORE: Transition((Stage.INQUIRY,), (Stage.MQL,)),
    # Nobody can take it yet: it waits in its team's queue (or the organisation's).
    Action.QUEUE: Transition((Stage.MQL,), None),
    Action.HAND_OFF: Transition((Stage.MQL,), None),
    Action.ACCEPT: Transition((Stage.MQL,), (Stage.SAL,)),
    Action.REJECT: Transition((Stage.MQL,), (Stage.NURTURE,)),
    Action.TOUCH: Transition(SALES_WORKING, None),
    # An agreed condition ("waiting on the prospect") holds the lead's clocks (sla.pauses).
    Action.PAUSE: Transition(SALES_WORKING, None),
    Action.QUALIFY: Transition((Stage.SAL,), (Stage.SQL,)),
    Action.CONVERT: Transition((Stage.SQL,), (Stage.OPPORTUNITY,)),
    # From MQL only by the arbiter deciding a case ("close as no decision").
    Action.CLOSE: Transition((Stage.MQL, *SALES_WORKING), CLOSED_STAGES),
    Action.REASSIGN: Transition(OPEN_STAGES, None),
    Action.RETURN: Transition((Stage.MQL, Stage.SAL), (Stage.NURTURE,)),
    Action.RECYCLE: Transition((Stage.NURTURE, Stage.INQUIRY), (Stage.MQL,)),
    Action.DISQUALIFY: Transition((Stage.INQUIRY, Stage.NURTURE), (Stage.DISQUALIFIED,)),
    Action.DISPUTE: Transition((Stage.NURTURE,), None),
    Action.UPDATE: Transition(tuple(Stage.values), None),
    # A duplicate folds into another lead (leads.merge): its clocks stop, its events
    # join that lead's history; the lead kept records that it took them in.
    Action.MERGE: Transition(MERGEABLE, (Stage.MERGED,)),
    Action.MERGE_IN: Transition(UNMERGED, None),
}
BIRTHS = (Action.INGEST, Action.IMPORT_HISTORY)


# -- what a refusal is -------------------------------------------------------------


def _label(stage: str) -> str:
    return Stage(stage).label if stage in Stage.values else "none"


class TransitionNotAllowed(Conflict):
    """The lead is not in a stage (or state) this action starts from (HTTP 409)."""

    def __init__(self, action: str, stage: str, message: str | None = None):
        self.action = action
        self.stage = stage
        super().__init__(
            message or f"A lead in stage {_label(stage)} cannot be {Action(action).label.lower()}."
        )

    def payload(self) -> dict[str, Any]:
        return {"detail": str(self), "stage": self.stage}


class LeadChanged(Conflict):
    """Someone else changed the lead since this person loaded it (HTTP 409)."""

    def __init__(self, lead: Lead):
        self.stage = lead.stage
        super().__init__(
            f"This lead changed while you were looking at it: it is now {lead.get_stage_display()}"
            + (f", owned by {lead.owner}" if lead.owner_id else "")
            + ". Reload to see what happened."
        )

    def payload(self) -> dict[str, Any]:
        return {"detail": str(self), "stage": self.stage}


class GuardRefused(Conflict):
    """A registered guard refused the action; `missing` says what must happen first."""

    def __init__(self, message: str, *, missing: list[str] | tuple[str, ...] = ()):
        self.missing = list(missing)
        self.stage: str | None = None  # the machine fills it in
        super().__init__(message)

    def payload(self) -> dict[str, Any]:
        return {"detail": str(self), "stage": self.stage, "missing": self.missing}


def check(action: str, stage: str, target: str | None = None) -> str:
    """Return the stage the lead moves to, or raise TransitionNotAllowed."""
    rule = TRANSITIONS[action]
    if stage not in rule.sources:
        raise TransitionNotAllowed(action, stage)
    if rule.targets is None:
        return stage
    if target is None:
        if len(rule.targets) != 1:
            raise ValueError(f"{action} needs one of {rule.targets}")
        return rule.targets[0]
    if target not in rule.targets:
        raise ValueError(f"{action} cannot go to {target}")
    return target


# -- what other apps register (leads never imports them) -----------------------------

# A guard is called as guard(lead=..., action=..., target=..., by=..., now=...)
# and raises GuardRefused with a message a person can act on.
guards = Registry("lead guards")
# Listeners receive the list of LeadEvents just written, inside the transaction.
listeners = Registry("lead events")
register_guard = guards.register
register_listener = listeners.register


# -- who may act -------------------------------------------------------------------


def manages_team(user: User, team_id: int | None) -> bool:
    """An admin manages every team; a manager the teams they manage.

    The teams are read once per user object (like Django's permission cache),
    so a page of 25 leads asks once, not 25 times.
    """
    if user.has_perm(perm("manage_organisation")):
        return True
    if not team_id or not user.has_perm(perm("manage_team")):
        return False
    managed = getattr(user, "_managed_team_ids", None)
    if managed is None:
        managed = frozenset(Team.objects.filter(manager=user).values_list("pk", flat=True))
        user._managed_team_ids = managed
    return team_id in managed


def managed_teams(user: User) -> list[Team]:
    """The teams this person is the manager of, by name (remembered for manages_team)."""
    teams = list(Team.objects.filter(manager=user).order_by("name"))
    user._managed_team_ids = frozenset(t.pk for t in teams)
    return teams


def _arbiter_in_case(user: User, case_id: int | None) -> bool:
    # The arbiter acts on a lead only through a case (sla.arbiter passes its id).
    return case_id is not None and user.has_perm(perm("arbitrate"))


def _sales_on_own_lead(lead: Lead, user: User, case_id: int | None) -> str | None:
    """The owner works a lead; the manager of its team may step in."""
    if not (user.has_perm(perm("work_leads")) or user.has_perm(perm("manage_organisation"))):
        return "Only sales may act on leads."
    if lead.owner_id == user.pk or manages_team(user, lead.team_id):
        return None
    return "This lead belongs to another rep."


def _closer(lead: Lead, user: User, case_id: int | None) -> str | None:
    if _arbiter_in_case(user, case_id):
        return None
    return _sales_on_own_lead(lead, user, case_id)


def _team_manager(what: str) -> Callable[[Lead, User, int | None], str | None]:
    def who(lead: Lead, user: User, case_id: int | None) -> str | None:
        if manages_team(user, lead.team_id) or _arbiter_in_case(user, case_id):
            return None
        return f"Only the manager of the lead's team (or the arbiter, deciding a case) may {what}."

    return who


def _marketing(
    capability: str, what: str, *, or_arbiter: bool = False
) -> Callable[[Lead, User, int | None], str | None]:
    def who(lead: Lead, user: User, case_id: int | None) -> str | None:
        if user.has_perm(perm(capability)) or (or_arbiter and _arbiter_in_case(user, case_id)):
            return None
        return f"Only marketing may {what}."

    return who


def _merger(lead: Lead, user: User, case_id: int | None) -> str | None:
    if user.has_perm(perm("import_leads")) or user.has_perm(perm("manage_organisation")):
        return None
    return "Only marketing (or an admin) may merge leads."


def _open_dispute(lead: Lead) -> bool:
    prefetched = getattr(lead, "_prefetched_objects_cache", {}).get("disputes")
    if prefetched is not None:
        return any(d.status == DisputeStatus.OPEN for d in prefetched)
    return Dispute.objects.filter(lead_id=lead.pk, status=DisputeStatus.OPEN).exists()


def _needs_owner(lead: Lead, case_id: int | None) -> str | None:
    if lead.owner_id is None:
        return "Nobody holds this lead yet: its team's manager gives it to a rep first."
    return None


def _closable(lead: Lead, case_id: int | None) -> str | None:
    if lead.stage == Stage.MQL and case_id is None:
        return "Accept or reject a new lead; it cannot be closed yet."
    return None


def _pausable(lead: Lead, case_id: int | None) -> str | None:
    # The SLA app keeps both fields on the lead (leads knows no clocks).
    if lead.paused_until is not None:
        return "This lead is paused already; a touch ends the pause."
    if lead.action_due_at is None:
        return "Nothing is due on this lead now: there is no deadline to pause."
    if lead.stale_since is not None:
        # A pause holds deadlines still to come; one already missed stays missed.
        return "This lead missed its deadline: act on it first; a pause cannot hide a breach."
    return None


def _disputable(lead: Lead, case_id: int | None) -> str | Exception | None:
    if lead.rejection_reason_id is None:
        return "Only a rejected lead can be disputed."
    if _open_dispute(lead):
        return ValidationError({"reason": ["This rejection is already disputed."]})
    return None


def _recyclable(lead: Lead, case_id: int | None) -> str | None:
    if _open_dispute(lead):
        return (
            "Marketing disputed this rejection: the arbiter decides it first "
            "(overturning it sends the lead to sales again)."
        )
    return None


@dataclass(frozen=True)
class PersonRule:
    # What a page or the API calls it: the URL names leads:<verb>, /api/v1/leads/{id}/<verb>/
    # (but a pause, whose conditions the agreement names: sla:lead_pause and
    # /api/v1/sla/leads/{id}/pause/).
    verb: str
    # None if this person may take the action on this lead, else why not (403).
    who: Callable[[Lead, User, int | None], str | None]
    # Beyond the stage, what else stops the action now, or None: why (a 409), or
    # the exception to raise (a ValidationError where that was always a 400).
    blocker: Callable[[Lead, int | None], str | Exception | None] | None = None


# The actions a person takes, in the order a page offers them. Actions not
# listed (ingest, hand-off, rescore, update) are the system's.
PEOPLE: dict[str, PersonRule] = {
    Action.ACCEPT: PersonRule("accept", _sales_on_own_lead, _needs_owner),
    Action.REJECT: PersonRule("reject", _sales_on_own_lead, _needs_owner),
    Action.TOUCH: PersonRule("touch", _sales_on_own_lead),
    Action.PAUSE: PersonRule("pause", _sales_on_own_lead, _pausable),
    Action.QUALIFY: PersonRule("qualify", _sales_on_own_lead),
    Action.CONVERT: PersonRule("convert", _sales_on_own_lead),
    Action.CLOSE: PersonRule("close", _closer, _closable),
    Action.REASSIGN: PersonRule("reassign", _team_manager("reassign")),
    Action.RETURN: PersonRule("return", _team_manager("return a lead to marketing")),
    Action.DISPUTE: PersonRule(
        "dispute", _marketing("dispute_rejections", "dispute a rejection"), _disputable
    ),
    Action.RECYCLE: PersonRule(
        "recycle",
        # The arbiter overturning a rejection sends the lead to sales again.
        _marketing("import_leads", "send a lead to sales again", or_arbiter=True),
        _recyclable,
    ),
    # The lead merged away is asked (leads.merge asks MERGE_IN of the one kept).
    Action.MERGE: PersonRule("merge", _merger),
}
VERBS = [rule.verb for rule in PEOPLE.values()]


def allowed_actions(lead: Lead, user: User) -> list[str]:
    """The verbs of the actions `user` may take on `lead` now, outside any case.

    The one answer for templates (which forms to show), views and the API's
    lead detail; transition() asks the same questions of the locked row.
    """
    allowed = []
    for action, rule in PEOPLE.items():
        if lead.stage not in TRANSITIONS[action].sources:
            continue
        if rule.who(lead, user, None) is not None:
            continue
        if rule.blocker is not None and rule.blocker(lead, None) is not None:
            continue
        allowed.append(rule.verb)
    return allowed


def refusal(lead: Lead, user: User, action: str) -> Exception | None:
    """Why `user` may not take `action` on `lead` now, outside any case (PermissionDenied,
    a Conflict, or what a blocker raises), or None: what a page says instead of its form."""
    try:
        _check_who(lead, action, user, None)
        _check_ready(lead, action, lead.stage, None)
    except (PermissionDenied, Conflict, ValidationError) as refused:
        return refused
    return None


def _check_who(lead: Lead, action: str, by: User | None, case_id: int | None) -> None:
    rule = PEOPLE.get(action)
    if rule is None:
        return  # the system's action, on behalf of whoever triggered it
    refused = "Only a person may do this." if by is None else rule.who(lead, by, case_id)
    if refused:
        raise PermissionDenied(refused)


def _check_ready(lead: Lead, action: str, from_stage: str, case_id: int | None) -> None:
    if from_stage not in TRANSITIONS[action].sources:
        raise TransitionNotAllowed(action, from_stage)
    rule = PEOPLE.get(action)
    if rule is not None and rule.blocker is not None:
        blocked = rule.blocker(lead, case_id)
        if isinstance(blocked, str):
            raise TransitionNotAllowed(action, from_stage, blocked)
        if blocked is not None:
            raise blocked


# -- the writers -------------------------------------------------------------------


@dataclass
class Change:
    """What an action does to the locked lead, worked out by the service once the
    machine has let it through (see transition's `prepare`)."""

    target: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


def _apply(
    lead: Lead,
    action: str,
    from_stage: str,
    change: Change,
    *,
    by: User | None,
    now: datetime,
) -> LeadEvent:
    """Run the guards, apply the change to the lead in memory, return its event unsaved."""
    new_stage = check(action, from_stage, change.target)
    try:
        guards.call(lead=lead, action=action, target=new_stage, by=by, now=now)
    except GuardRefused as refused:
        refused.stage = from_stage or None
        raise
    for name, value in change.changes.items():
        setattr(lead, name, value)
    lead.stage = new_stage
    if from_stage != NO_STAGE:
        lead.version += 1
        lead.updated_at = now
    # Not LeadEvent(lead=lead, actor=by, ...): a bulk ingest makes over a thousand a
    # request, and Django's constructor (for its leads, events and clocks) was about
    # a tenth of the request's time.
    return new_instance(
        LeadEvent,
        {
            "kind": action,
            "occurred_at": now,
            "from_stage": from_stage,
            "to_stage": new_stage,
            "data": change.data,
        },
        {"lead": lead, "actor": by},
    )


_EVENT_LEAD = LeadEvent._meta.get_field("lead")


def step(
    lead: Lead,
    action: str,
    *,
    by: User | None,
    now: datetime,
    target: str | None = None,
    changes: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> LeadEvent:
    """One action on a lead the caller holds (locked, or not saved yet), asked of
    the tables and applied in memory. Returns its event, unsaved: the caller
    saves the leads and hands the events of a whole batch to write()."""
    if action in BIRTHS and lead.pk is not None:
        raise ValueError(f"{action} makes a new lead; {lead.pk} exists")
    from_stage = NO_STAGE if action in BIRTHS else lead.stage
    _check_who(lead, action, by, None)
    _check_ready(lead, action, from_stage, None)
    return _apply(
        lead, action, from_stage, Change(target, changes or {}, data or {}), by=by, now=now
    )


def write(events: list[LeadEvent]) -> list[LeadEvent]:
    """Append the events step() made, in one statement, and call the listeners."""
    if not events:
        return events
    for event in events:
        if event.lead_id is None:
            # The lead was saved after its event was made: take its id and cache it
            # again (setting lead_id drops it, and every listener reading event.lead
            # would query it again).
            lead = event.lead
            event.lead_id = lead.pk
            _EVENT_LEAD.set_cached_value(event, lead)
    if connection.vendor != "postgresql":
        LeadEvent.objects.bulk_create(events)
    else:
        fields = ("lead_id", "kind", "actor_id", "occurred_at", "from_stage", "to_stage", "data")
        ids = insert_rows(
            LeadEvent,
            fields,
            list(map(attrgetter(*fields), events)),
            returning=("id",),
        )
        for event, (pk,) in zip(events, ids, strict=True):
            event.pk = event.id = pk
            event._state.adding = False
    rollups.record(events)
    listeners.call(events)
    return events


def transition(
    *,
    lead: Lead,
    action: str,
    by: User | None,
    now: datetime,
    target: str | None = None,
    changes: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    prepare: Callable[[Lead], Change] | None = None,
    expected_version: int | None = None,
    locked: bool = False,
    case_id: int | None = None,
) -> LeadEvent:
    """One action on one lead: lock it, ask the tables, apply, record, tell the listeners.

    Every question is asked of the locked row, in this order: may this person
    (403), is it the version they saw (LeadChanged), does the stage allow it
    and nothing else stop it (409), then `prepare(locked lead)` reads the
    input against it (ValidationError, 400) and returns the Change, then the
    guards (409). Of two people acting at once one wins; the other is told
    what the lead is now. `case_id`: the arbiter's case this is decided in.
    """
    with transaction.atomic():
        current = lead if locked else Lead.objects.select_for_update().get(pk=lead.pk)
        _check_who(current, action, by, case_id)
        if expected_version is not None and current.version != expected_version:
            raise LeadChanged(current)
        from_stage = current.stage
        _check_ready(current, action, from_stage, case_id)
        change = prepare(current) if prepare else Change(target, changes or {}, data or {})
        event = _apply(current, action, from_stage, change, by=by, now=now)
        current.save()
        write([event])
    # The caller's object reflects what was written.
    if current is not lead:
        lead.__dict__.update(
            {k: v for k, v in current.__dict__.items() if k == "_rolled_up" or k[0] != "_"}
        )
    return event
