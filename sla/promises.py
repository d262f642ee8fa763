"""Every promise the agreement writes down, and what in the engine keeps it.

The agreement's plain words (sla.selectors: `sales_promises`,
`marketing_promises`, `shared_rules`) are written from the fields of its
models; each field that promises something is listed here with what enforces
it: a clock kind, a guard on the lead state machine, a step of the scan, a
listener on lead or people events, or a figure marketing is judged by. The
rest of each model's fields are bookkeeping (which version, who drafted it,
in which order), listed too, with why they promise nothing.

tests/sla/test_promises.py walks every field of these models: a field in
neither table fails it (so a new promise cannot be written without saying
what keeps it), and for every promise it changes the field and shows that
both the plain words and what the engine does change with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sla.models import ClockKind


@dataclass(frozen=True)
class Enforced:
    by: str  # one of the kinds below
    what: str  # which clock kind, guard, scan step, listener or figure
    how: str  # in a sentence


CLOCK = "clock"  # sla.deadlines.clock_plan, started by sla.clocks.on_lead_events
GUARD = "guard"  # registered with leads.machine (SlaConfig.ready)
SCAN = "scan step"  # sla.scan.STEPS
LISTENER = "listener"  # sla.clocks, registered with leads.machine or alignment.services
SEGMENT = "segment"  # sla.selectors.goal_for: which goal (so which clocks) a lead gets
PAUSE = "pause"  # sla.pauses.lead_pause, through the lead state machine
FIGURE = "figure"  # sla.commitment: marketing's month, met or missed

PROMISES: dict[str, dict[str, Enforced]] = {
    "SalesGoal": {
        "min_score": Enforced(SEGMENT, "goal_for", "Leads scoring at least this get the goal."),
        "match_field": Enforced(SEGMENT, "goal_for", "Leads whose field matches get the goal."),
        "match_values": Enforced(SEGMENT, "goal_for", "The values of that field that match."),
        "accept_hours": Enforced(
            CLOCK, ClockKind.ACCEPT, "The accept clock started at hand-off falls due after it."
        ),
        "first_touch_hours": Enforced(
            CLOCK, ClockKind.FIRST_TOUCH, "The first-touch clock started at accepting."
        ),
        "min_attempts": Enforced(
            GUARD,
            "abandon_guard",
            "No close as lost or no decision before; until then the follow-up clock paces "
            "the attempts.",
        ),
        "attempt_days": Enforced(
            GUARD,
            "abandon_guard",
            "The attempts spread over these business days first; the follow-up clock paces "
            "them evenly.",
        ),
        "followup_days": Enforced(
            CLOCK, ClockKind.FOLLOW_UP, "After each touch the next is due within the cadence."
        ),
        "followup_through": Enforced(
            CLOCK, ClockKind.FOLLOW_UP, "A lead qualified beyond this stage has no follow-up."
        ),
        "warn_percent": Enforced(SCAN, "warning", "Every clock of the goal warns at this share."),
    },
    "Agreement": {
        "min_acceptance_rate": Enforced(
            FIGURE, "commitment", "Marketing's month is at risk or missed below it."
        ),
        "max_incomplete_rate": Enforced(
            FIGURE, "commitment", "Marketing's month is at risk or missed above it."
        ),
        "escalation_hours": Enforced(
            SCAN,
            "escalation",
            "A breach still open this long after its deadline goes to the arbiter.",
        ),
        "assign_hours": Enforced(
            CLOCK,
            ClockKind.ASSIGNMENT,
            "The assignment clock of a queued lead falls due after it.",
        ),
        "pause_when_away": Enforced(
            LISTENER, "on_member_away", "A rep marked away: their running clocks pause."
        ),
        "restart_on_reassign": Enforced(
            LISTENER, "on_lead_events", "A reassigned lead's clocks restart for the new owner."
        ),
        "clock_calendar": Enforced(
            CLOCK,
            "accept, first_touch, follow_up",
            "A rep's clocks count business time on the team's calendar, or on the rep's own "
            "working hours (sla.selectors.calendar_for_clock).",
        ),
    },
    "TeamCommitment": {
        "team": Enforced(FIGURE, "commitment", "The sales team the MQLs are committed to."),
        "monthly_mqls": Enforced(FIGURE, "commitment", "The volume marketing's month needs."),
    },
    "PauseCondition": {
        "label": Enforced(
            PAUSE, "lead_pause", "The only reasons a rep may pause a lead's clocks, with a note."
        ),
        "max_days": Enforced(SCAN, "resume", "The scan ends the pause at this maximum."),
    },
}

NOT_PROMISES: dict[str, dict[str, str]] = {
    "SalesGoal": {
        "id": "its key",
        "agreement": "the version it belongs to",
        "position": "its order (the segments' first match wins: see min_score)",
        "label": "its name",
    },
    "Agreement": {
        "id": "its key",
        "number": "which version",
        "status": "draft, proposed, in force or superseded",
        "revision": "edits made to the draft",
        "based_on": "the version it was drafted from",
        "summary": "the change in a line",
        "created_by": "who drafted it",
        "created_at": "when",
        "updated_at": "when",
        "proposed_at": "when",
        "agreed_at": "when it came into force",
        "superseded_at": "when it stopped being in force",
    },
    "TeamCommitment": {"id": "its key", "agreement": "the version it belongs to"},
    "PauseCondition": {
        "id": "its key",
        "agreement": "the version it belongs to",
        "position": "its order",
    },
}

# Rows that hang off an agreement but are not its content: who signed, what happened
# to it, and what ran or was measured under it.
NOT_CONTENT = {
    "AgreementSignature",
    "AgreementEvent",
    "Agreement",  # based_on: the version a draft came from
    "Clock",
    "CommitmentResult",
}
