"""The lead state machine: the one table of what may happen to a lead, and when.

Every stage change goes through `leads.services.transition`, which checks this
table, runs the guards other apps registered (the SLA app registers "enough
attempts before abandoning"), writes one LeadEvent and calls the registered
listeners in the same transaction. No other code sets `lead.stage`.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models


class Stage(models.TextChoices):
    INQUIRY = "inquiry", "Inquiry"
    MQL = "mql", "MQL"
    SAL = "sal", "SAL"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    WON = "won", "Won"
    LOST = "lost", "Lost"
    NO_DECISION = "no_decision", "No decision"
    NURTURE = "nurture", "Nurture / recycled"
    DISQUALIFIED = "disqualified", "Disqualified"


OPEN_STAGES = (Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)
CLOSED_STAGES = (Stage.WON, Stage.LOST, Stage.NO_DECISION)
SALES_WORKING = (Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)


class Action(models.TextChoices):
    INGEST = "ingested", "Ingested"
    UPDATE = "updated", "Updated by its source"
    RESCORE = "rescored", "Qualified on new data"
    HAND_OFF = "handed_off", "Handed off"
    ACCEPT = "accepted", "Accepted"
    REJECT = "rejected", "Rejected"
    TOUCH = "touched", "Touch logged"
    QUALIFY = "qualified", "Qualified (SQL)"
    CONVERT = "converted", "Converted to opportunity"
    CLOSE = "closed", "Closed"
    REASSIGN = "reassigned", "Reassigned"
    RETURN = "returned", "Returned to marketing"
    RECYCLE = "recycled", "Sent to sales again"
    DISQUALIFY = "disqualified", "Disqualified"
    DISPUTE = "disputed", "Rejection disputed"
    IMPORT_HISTORY = "imported", "Imported as history"


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    # None: the stage does not change (a touch, a reassignment); a tuple: the
    # caller names one of these targets (close: won / lost / no decision).
    targets: tuple[str, ...] | None


TRANSITIONS: dict[str, Transition] = {
    Action.RESCORE: Transition((Stage.INQUIRY,), (Stage.MQL,)),
    Action.HAND_OFF: Transition((Stage.MQL,), None),
    Action.ACCEPT: Transition((Stage.MQL,), (Stage.SAL,)),
    Action.REJECT: Transition((Stage.MQL,), (Stage.NURTURE,)),
    Action.TOUCH: Transition(SALES_WORKING, None),
    Action.QUALIFY: Transition((Stage.SAL,), (Stage.SQL,)),
    Action.CONVERT: Transition((Stage.SQL,), (Stage.OPPORTUNITY,)),
    # From MQL only by the arbiter ("close as no decision"); leads.services checks who.
    Action.CLOSE: Transition((Stage.MQL, *SALES_WORKING), CLOSED_STAGES),
    Action.REASSIGN: Transition(OPEN_STAGES, None),
    Action.RETURN: Transition((Stage.MQL, Stage.SAL), (Stage.NURTURE,)),
    Action.RECYCLE: Transition((Stage.NURTURE, Stage.INQUIRY), (Stage.MQL,)),
    Action.DISQUALIFY: Transition((Stage.INQUIRY, Stage.NURTURE), (Stage.DISQUALIFIED,)),
    Action.DISPUTE: Transition((Stage.NURTURE,), None),
    Action.UPDATE: Transition(tuple(Stage.values), None),
}


class TransitionNotAllowed(Exception):
    """The lead is not in a stage this action starts from (HTTP 409)."""

    def __init__(self, action: str, stage: str, message: str | None = None):
        self.action = action
        self.stage = stage
        super().__init__(
            message
            or f"A lead in stage {Stage(stage).label} cannot be {Action(action).label.lower()}."
        )


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


# Guards: other apps (leads never imports them) may refuse an action, e.g. the
# SLA app refuses to let a rep abandon a lead before the agreed attempts.
# A guard is called as guard(lead=..., action=..., target=..., by=..., now=...)
# and raises GuardRefused with a message a person can act on.
class GuardRefused(Exception):
    pass


_guards: list[Callable[..., None]] = []
# Listeners receive the list of LeadEvents just written, inside the transaction.
_listeners: list[Callable[[list], None]] = []


def register_guard(guard: Callable[..., None]) -> None:
    if guard not in _guards:
        _guards.append(guard)


def register_listener(listener: Callable[[list], None]) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def run_guards(**kwargs) -> None:
    for guard in _guards:
        guard(**kwargs)


def notify_listeners(events: list) -> None:
    if events:
        for listener in _listeners:
            listener(events)
