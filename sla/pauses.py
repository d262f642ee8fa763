"""Agreed pauses: a condition the agreement names ("waiting on the prospect") holds a
lead's clocks for at most its number of business days.

A rep (or their manager) sets one with a note, through the lead state machine
(Action.PAUSE: who may, from which stages, and that something is due to pause,
are its tables), so the lead's timeline records it; the clock engine
(sla.clocks) pauses the lead's running clocks in the same transaction, and ends
the pause at the next touch, or when the lead is closed, returned or
reassigned; the scan ends it at its maximum (sla.scan's resume step). Every
start and end is a clock event too.

A pause never hides a lead: `paused_now` lists the open ones for the manager
with their reason and how long they have held, and the dashboard counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError

from leads import machine
from leads.machine import Change
from leads.models import Lead
from leads.stages import Action
from sla import selectors
from sla.calendars import CalendarSpec, add_business_time, business_time_between
from sla.deadlines import business_days_hours, hours
from sla.models import Clock, ClockState, Pause, PauseCondition

MAX_NOTE = 2000


def conditions_for(lead: Lead) -> list[PauseCondition]:
    """The conditions that may pause this lead's clocks: those of the agreement its
    running clocks run under (the rules they started with), in the agreement's order."""
    agreement_id = (
        Clock.objects.filter(lead_id=lead.pk, state=ClockState.RUNNING)
        .order_by("-started_at", "-id")
        .values_list("agreement_id", flat=True)
        .first()
    )
    if agreement_id is None:
        return []
    return list(PauseCondition.objects.filter(agreement_id=agreement_id).order_by("position"))


def _spec(team) -> CalendarSpec:
    return selectors.calendar_for_team(team) if team is not None else selectors.default_spec("UTC")


def pause_ends_at(spec: CalendarSpec, start: datetime, condition: PauseCondition) -> datetime:
    """The latest a pause on `condition` set at `start` holds: its maximum, in business days."""
    return add_business_time(spec, start, hours(business_days_hours(spec, condition.max_days)))


def _chosen(lead: Lead, value) -> PauseCondition:
    offered = conditions_for(lead)
    text = str(value if value is not None else "").strip()
    found = next((c for c in offered if text.isdigit() and c.pk == int(text)), None)
    if found is not None:
        return found
    if not offered:
        message = "The agreement these deadlines run under names no condition that pauses them."
    elif not text:
        message = "Choose why the lead waits."
    else:
        names = ", ".join(f"{c.pk} ({c.label})" for c in offered)
        message = f"Choose one of the conditions the agreement names: {names}."
    raise ValidationError({"condition": [message]})


def lead_pause(*, lead: Lead, by, condition, note: str, now: datetime) -> Pause:
    """Pause the lead's running clocks on a condition the agreement names, with a note,
    until a touch or the condition's maximum. 403 not theirs, 409 nothing to pause or
    paused already, 400 no such condition or no note."""

    def prepare(current: Lead) -> Change:
        errors: dict[str, list[str]] = {}
        text = (note or "").strip()
        if not text:
            errors["note"] = ["Say what the lead waits for: your manager reads it."]
        elif len(text) > MAX_NOTE:
            errors["note"] = [f"At most {MAX_NOTE} characters."]
        try:
            chosen = _chosen(current, condition)
        except ValidationError as error:
            errors.update(error.message_dict)
        if errors:
            raise ValidationError(errors)
        until = pause_ends_at(_spec(current.team), now, chosen)
        return Change(
            data={
                "condition": chosen.pk,
                "reason": chosen.label,
                "max_days": chosen.max_days,
                "note": text,
                "until": until.isoformat(),
            }
        )

    machine.transition(lead=lead, action=Action.PAUSE, by=by, now=now, prepare=prepare)
    return Pause.objects.get(lead_id=lead.pk, ended_at__isnull=True)


# -- what the manager sees -------------------------------------------------------------------


@dataclass(frozen=True)
class PauseRow:
    pause: Pause
    held: timedelta  # business time it has held the clocks so far


def paused_now(pauses, *, now: datetime) -> list[PauseRow]:
    """The rows of these pauses with how long each has held so far, in business time on
    its team's calendar (one query for the calendars)."""
    pauses = list(pauses)
    specs = selectors.calendars_for_teams({p.team_id for p in pauses if p.team_id})
    default = selectors.default_spec("UTC")
    return [
        PauseRow(p, business_time_between(specs.get(p.team_id, default), p.started_at, now))
        for p in pauses
    ]
