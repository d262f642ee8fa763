"""Writes for the SLA app. Sections: business calendars (below).

Each function is one business action in one transaction: it checks who may
do it, validates everything before writing anything, and raises
ValidationError keyed by the field at fault, so a refused edit leaves no row
behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, time

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from alignment import audit, clock
from alignment.models import Team, User, validate_time_zone
from sla import hooks
from sla.calendars import CalendarSpec
from sla.models import (
    BusinessCalendar,
    Closure,
    Weekday,
    WorkingInterval,
    supported_holiday_countries,
    validate_holiday_country,
)
from sla.selectors import can_edit_calendar

# --- business calendars ------------------------------------------------------

Week = Mapping[int, Sequence[tuple[time, time]]]

# The longest closure one entry may describe; longer is almost surely a typo
# in the year, and would silently stop every clock on the calendar.
MAX_CLOSURE_DAYS = 366

_UNCHANGED = object()


def _require_editor(by: User, *, calendar: BusinessCalendar | None = None, team=None) -> None:
    if not can_edit_calendar(by, calendar, team=team):
        raise PermissionDenied(
            "Only the manager of this calendar's team, or an admin, may change it."
        )


def _validate_settings(
    *,
    name: str,
    time_zone: str,
    holiday_country: str,
    holiday_subdivision: str,
    instance: BusinessCalendar | None = None,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["A calendar needs a name."]
    elif len(name) > 100:
        errors["name"] = ["A calendar's name is at most 100 characters."]
    elif (
        BusinessCalendar.objects.filter(name__iexact=name)
        .exclude(pk=instance.pk if instance else None)
        .exists()
    ):
        errors["name"] = [f"A calendar named {name!r} already exists."]
    for field, value, validator in (
        ("time_zone", time_zone, validate_time_zone),
        ("holiday_country", holiday_country, validate_holiday_country),
    ):
        try:
            validator(value)
        except ValidationError as e:
            errors[field] = e.messages
    if not time_zone:
        errors["time_zone"] = ["A calendar needs a time zone, such as Europe/Berlin."]
    if holiday_subdivision:
        if not holiday_country:
            errors["holiday_subdivision"] = ["A subdivision needs a holiday country."]
        elif "holiday_country" not in errors:
            known = supported_holiday_countries()[holiday_country]
            if holiday_subdivision not in known:
                errors["holiday_subdivision"] = [
                    f"{holiday_subdivision!r} is not a subdivision of {holiday_country}; "
                    f"known: {', '.join(known[:12])}{' ...' if len(known) > 12 else ''}."
                ]
    return errors


def _normalised_week(week: Week) -> dict[int, tuple[tuple[time, time], ...]]:
    """The week as the arithmetic will see it, or ValidationError on `intervals`."""
    errors = []
    cleaned = {}
    for weekday, intervals in week.items():
        label = Weekday(weekday).label if weekday in Weekday.values else repr(weekday)
        try:
            one_day = CalendarSpec("UTC", {weekday: tuple(intervals)})
        except ValueError as e:
            errors.append(f"{label}: {str(e).split(': ', 1)[-1]}")
            continue
        cleaned[weekday] = one_day.week[weekday]
    if errors:
        raise ValidationError({"intervals": errors})
    return cleaned


def _touched(calendar_id: int) -> None:
    """Mark the calendar changed; listeners hear of it only once the edit commits."""
    BusinessCalendar.objects.filter(pk=calendar_id).update(
        revision=F("revision") + 1, updated_at=clock.now()
    )
    transaction.on_commit(lambda: hooks.calendar_changed(calendar_id))


def _locked(calendar: BusinessCalendar) -> BusinessCalendar:
    # Serialises edits of one calendar, so two managers saving at once cannot
    # interleave a delete-and-insert of the same week.
    return (
        BusinessCalendar.objects.select_for_update(of=("self",))
        .select_related("team")
        .get(pk=calendar.pk)
    )


def _week_text(calendar_id: int) -> dict[str, str]:
    """The working week as the audit trail shows it: {"Monday": "09:00-17:00", ...}."""
    days: dict[str, list[str]] = {}
    for interval in WorkingInterval.objects.filter(calendar_id=calendar_id).order_by(
        "weekday", "start"
    ):
        days.setdefault(Weekday(interval.weekday).label, []).append(
            f"{interval.start:%H:%M}-{interval.end:%H:%M}"
        )
    return {day: ", ".join(spans) for day, spans in days.items()}


def _write_week(calendar_id: int, week: Mapping[int, tuple[tuple[time, time], ...]]) -> None:
    WorkingInterval.objects.filter(calendar_id=calendar_id).delete()
    WorkingInterval.objects.bulk_create(
        WorkingInterval(calendar_id=calendar_id, weekday=day, start=start, end=end)
        for day, intervals in sorted(week.items())
        for start, end in intervals
    )


def calendar_create(
    *,
    by: User,
    name: str,
    time_zone: str,
    team: Team | None = None,
    holiday_country: str = "",
    holiday_subdivision: str = "",
    week: Week | None = None,
) -> BusinessCalendar:
    """A new calendar, for a team (its manager or an admin) or unattached (an admin)."""
    if team is not None:
        _require_editor(by, team=team)
    else:
        _require_admin(by)
    name = name.strip()
    holiday_country = holiday_country.strip().upper()
    holiday_subdivision = holiday_subdivision.strip().upper()
    errors = _validate_settings(
        name=name,
        time_zone=time_zone,
        holiday_country=holiday_country,
        holiday_subdivision=holiday_subdivision,
    )
    if team is not None and BusinessCalendar.objects.filter(team=team).exists():
        errors["team"] = [f"{team} already has a calendar; edit that one."]
    cleaned_week = None
    try:
        cleaned_week = _normalised_week(week or {})
    except ValidationError as e:
        errors.update(e.message_dict)
    if errors:
        raise ValidationError(errors)
    now = clock.now()
    try:
        with transaction.atomic():
            calendar = BusinessCalendar.objects.create(
                name=name,
                team=team,
                time_zone=time_zone,
                holiday_country=holiday_country,
                holiday_subdivision=holiday_subdivision,
                created_at=now,
                updated_at=now,
            )
            _write_week(calendar.pk, cleaned_week)
            audit.record(by=by, action="calendar.create", target=calendar)
            # The team's clocks ran on the default week until now.
            transaction.on_commit(lambda: hooks.calendar_changed(calendar.pk))
    except IntegrityError:
        # Someone created a calendar with this name or for this team meanwhile.
        raise ValidationError(
            {"name": ["A calendar with this name, or for this team, was just created."]}
        ) from None
    return calendar


def _require_admin(by: User) -> None:
    if not can_edit_calendar(by):
        raise PermissionDenied("Only an admin may create a calendar that belongs to no team.")


CALENDAR_FIELDS = ["name", "time_zone", "holiday_country", "holiday_subdivision", "team"]


def calendar_update(
    *,
    calendar: BusinessCalendar,
    by: User,
    name: str,
    time_zone: str,
    holiday_country: str = "",
    holiday_subdivision: str = "",
    team=_UNCHANGED,
) -> BusinessCalendar:
    """Change a calendar's name, zone or holidays; only an admin moves it to another team."""
    _require_editor(by, calendar=calendar)
    name = name.strip()
    holiday_country = holiday_country.strip().upper()
    holiday_subdivision = holiday_subdivision.strip().upper()
    with transaction.atomic():
        current = _locked(calendar)
        before = audit.snapshot(current, CALENDAR_FIELDS)
        errors = _validate_settings(
            name=name,
            time_zone=time_zone,
            holiday_country=holiday_country,
            holiday_subdivision=holiday_subdivision,
            instance=current,
        )
        if team is not _UNCHANGED and team != current.team:
            if not by.has_perm("alignment.manage_organisation"):
                raise PermissionDenied("Only an admin may move a calendar to another team.")
            if team is not None and (
                BusinessCalendar.objects.filter(team=team).exclude(pk=current.pk).exists()
            ):
                errors["team"] = [f"{team} already has a calendar."]
            current.team = team
        if errors:
            raise ValidationError(errors)
        current.name = name
        current.time_zone = time_zone
        current.holiday_country = holiday_country
        current.holiday_subdivision = holiday_subdivision
        changes = audit.diff(before, audit.snapshot(current, CALENDAR_FIELDS))
        if changes:
            audit.record(by=by, action="calendar.update", target=current, changes=changes)
        current.save(update_fields=CALENDAR_FIELDS)
        _touched(current.pk)
    current.refresh_from_db()
    return current


def calendar_set_week(*, calendar: BusinessCalendar, by: User, week: Week) -> BusinessCalendar:
    """Replace all working intervals of a calendar with `week` (weekday -> intervals)."""
    _require_editor(by, calendar=calendar)
    cleaned = _normalised_week(week)
    with transaction.atomic():
        current = _locked(calendar)
        before = _week_text(current.pk)
        _write_week(current.pk, cleaned)
        after = _week_text(current.pk)
        if before != after:
            audit.record(
                by=by, action="calendar.week", target=current, changes={"week": [before, after]}
            )
        _touched(current.pk)
    current.refresh_from_db()
    return current


def closure_add(
    *, calendar: BusinessCalendar, by: User, first_day: date, last_day: date, reason: str
) -> Closure:
    """Close the calendar from `first_day` to `last_day`, both included."""
    _require_editor(by, calendar=calendar)
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = ["Say why the company is closed (people see it on the calendar)."]
    elif len(reason) > 200:
        errors["reason"] = ["A reason is at most 200 characters."]
    if first_day is None:
        errors["first_day"] = ["A closure needs a first day."]
    if last_day is None:
        errors["last_day"] = ["A closure needs a last day."]
    if first_day is not None and last_day is not None:
        if last_day < first_day:
            errors["last_day"] = ["The last day is before the first day."]
        elif (last_day - first_day).days + 1 > MAX_CLOSURE_DAYS:
            errors["last_day"] = [f"A closure is at most {MAX_CLOSURE_DAYS} days long."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = _locked(calendar)
        closure = Closure.objects.create(
            calendar=current,
            first_day=first_day,
            last_day=last_day,
            reason=reason,
            created_at=clock.now(),
        )
        audit.record(by=by, action="calendar.closure_add", target=current, note=str(closure))
        _touched(current.pk)
    return closure


def closure_remove(*, closure: Closure, by: User) -> None:
    calendar = closure.calendar
    _require_editor(by, calendar=calendar)
    with transaction.atomic():
        current = _locked(calendar)
        if Closure.objects.filter(pk=closure.pk, calendar=current).delete()[0]:
            audit.record(by=by, action="calendar.closure_remove", target=current, note=str(closure))
        _touched(current.pk)
