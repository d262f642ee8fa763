"""A person's weekly working hours, in their own time zone (`User.zone_name`).

Stored on the person as {"mon": ["09:00", "17:00"], ...}: a day not named is a day
off; nothing stored means always on shift (so a rule that wants reps on shift
never strands the leads of a team that has not set hours). Edited by the person,
their team's manager or an admin, audited; a changed shift may let a queued lead
through, so the routing listeners hear of it (leads drains the team's queue).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from alignment import audit, clock
from alignment.models import User

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = dict(zip(DAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
# What the form proposes to someone who has none yet.
TYPICAL = {day: ["09:00", "17:00"] for day in DAYS[:5]}


def _time(text: Any) -> time | None:
    try:
        return time.fromisoformat(str(text).strip())
    except ValueError:
        return None


def clean(raw: Mapping[str, Any]) -> dict[str, list[str]]:
    """{day: [start, end]} (a day absent or both blank: off) into the stored form, or a
    ValidationError keyed by the day ("mon")."""
    if not isinstance(raw, Mapping):
        raise ValidationError({"hours": ["An object of days, each [start, end]."]})
    errors: dict[str, list[str]] = {}
    unknown = set(raw) - set(DAYS)
    if unknown:
        errors["hours"] = [f"Days are {', '.join(DAYS)}; not {', '.join(sorted(unknown))}."]
    hours = {}
    for day in DAYS:
        span = raw.get(day)
        if span in (None, "", [], ["", ""]):
            continue
        if not isinstance(span, list | tuple) or len(span) != 2:
            errors[day] = ["A start and an end, HH:MM."]
            continue
        start, end = (_time(v) for v in span)
        if start is None or end is None:
            errors[day] = ["A start and an end, HH:MM (both, or neither for a day off)."]
        elif end <= start:
            errors[day] = [f"The shift ends ({end:%H:%M}) after it starts ({start:%H:%M})."]
        else:
            hours[day] = [f"{start:%H:%M}", f"{end:%H:%M}"]
    if errors:
        raise ValidationError(errors)
    return hours


def on_shift(hours: Mapping[str, list[str]] | None, zone: str, now: datetime) -> bool:
    """Is `now` inside these working hours, read in `zone`? No hours: always."""
    if not hours:
        return True
    local = now.astimezone(ZoneInfo(zone or "UTC"))
    span = hours.get(DAYS[local.weekday()])
    if not span:
        return False
    return span[0] <= f"{local:%H:%M}" < span[1]


def describe(hours: Mapping[str, list[str]] | None) -> str:
    if not hours:
        return "always on shift"
    return ", ".join(f"{DAY_NAMES[d]} {hours[d][0]}–{hours[d][1]}" for d in DAYS if d in hours)


def may_edit(by: User, member: User) -> bool:
    from alignment.services import _may_plan_for

    return bool(_may_plan_for(by, member))


def working_hours_set(*, member: User, by: User, hours: Mapping[str, Any]) -> bool:
    """Set a person's weekly working hours (empty: always on shift); the person, their
    team's manager or an admin. Audited; True if they changed."""
    from alignment.services import routing_listeners, shift_listeners

    if not may_edit(by, member):
        raise PermissionDenied("Only the person, their team's manager or an admin.")
    cleaned = clean(hours)
    with transaction.atomic():
        before = (
            User.objects.select_for_update()
            .values_list("working_hours", flat=True)
            .get(pk=member.pk)
        )
        if (before or {}) == cleaned:
            return False
        User.objects.filter(pk=member.pk).update(working_hours=cleaned)
        member.working_hours = cleaned
        audit.record(
            by=by,
            action="member.working_hours",
            target=member,
            changes={"working_hours": [describe(before), describe(cleaned)]},
        )
        routing_listeners.call(member=member, changes={}, now=clock.now())
        shift_listeners.call(member=member, now=clock.now())
    return True
