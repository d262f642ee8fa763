import socket

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from alignment import audit, clock
from alignment.models import User, WorkerHeartbeat, validate_time_zone
from alignment.registry import Registry
from alignment.roles import perm


def heartbeat_record(*, name: str = "worker") -> None:
    WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"seen_at": clock.now(), "hostname": socket.gethostname()}
    )


# Other apps react to a person marked away or back (the SLA app pauses their
# clocks), inside the same transaction; alignment imports no app, so they register here.
away_listeners = Registry("member away")
register_away_listener = away_listeners.register


def member_set_away(*, member, away: bool, by) -> None:
    """Mark a team member away or back. Only their team's manager (or an admin) may."""
    if not (
        by.has_perm(perm("manage_organisation"))
        or (by.has_perm(perm("manage_team")) and member.team_id and member.team.manager_id == by.id)
    ):
        raise PermissionDenied("Only the manager of this person's team may mark them away.")
    with transaction.atomic():
        changed = User.objects.filter(pk=member.pk).exclude(is_away=away).update(is_away=away)
        member.is_away = away
        if changed:
            audit.record(
                by=by, action="member.away", target=member, changes={"is_away": [not away, away]}
            )
            now = clock.now()
            away_listeners.call(member=member, away=away, now=now)


# Other apps react to a person's shift moved, their working hours or their zone (the SLA
# app moves the deadlines of the clocks that count that person's own hours).
shift_listeners = Registry("member shift")
register_shift_listener = shift_listeners.register


def user_set_time_zone(*, user: User, time_zone: str) -> None:
    """A person chooses the zone their times are shown in ("" for their team's)."""
    time_zone = (time_zone or "").strip()
    if time_zone:
        try:
            validate_time_zone(time_zone)
        except ValidationError as error:
            raise ValidationError({"time_zone": error.messages}) from None
    with transaction.atomic():
        before = (
            User.objects.select_for_update().values_list("time_zone", flat=True).get(pk=user.pk)
        )
        if before == time_zone:
            return
        User.objects.filter(pk=user.pk).update(time_zone=time_zone)
        user.time_zone = time_zone
        audit.record(
            by=user,
            action="user.time_zone",
            target=user,
            changes={"time_zone": [before, time_zone]},
        )
        shift_listeners.call(member=user, now=clock.now())


# Other apps react to a rep's capacity or weight changed (leads drains the team's queue).
routing_listeners = Registry("member routing")
register_routing_listener = routing_listeners.register
ROUTING_FIELDS = {"capacity": (0, 10_000), "routing_weight": (0, 100)}


def member_set_routing(*, member, by, **values) -> dict:
    """Set a rep's capacity (new leads held at once) and round-robin weight; only their
    team's manager (or an admin) may. Each value a whole number in its range, else a
    ValidationError naming the field and nothing changed. Returns what changed."""
    from django.core.exceptions import ValidationError

    if not (
        by.has_perm(perm("manage_organisation"))
        or (by.has_perm(perm("manage_team")) and member.team_id and member.team.manager_id == by.id)
    ):
        raise PermissionDenied("Only the manager of this person's team may change their routing.")
    errors, clean = {}, {}
    for name, value in values.items():
        if name not in ROUTING_FIELDS:
            errors[name] = ["Unknown field."]
            continue
        low, high = ROUTING_FIELDS[name]
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            errors[name] = [f"A whole number from {low} to {high}."]
        else:
            clean[name] = number
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = User.objects.select_for_update().get(pk=member.pk)
        changes = {
            name: [getattr(current, name), value]
            for name, value in clean.items()
            if getattr(current, name) != value
        }
        if not changes:
            return {}
        User.objects.filter(pk=member.pk).update(**{n: v[1] for n, v in changes.items()})
        for name, (_, new) in changes.items():
            setattr(member, name, new)
        audit.record(by=by, action="member.routing", target=member, changes=changes)
        routing_listeners.call(member=member, changes=changes, now=clock.now())
    return changes


TIME_OFF_DAYS_AT_MOST = 366


def _may_plan_for(by, member) -> bool:
    """The person themself, their team's manager, or an admin."""
    return (
        by.pk == member.pk
        or by.has_perm(perm("manage_organisation"))
        or (by.has_perm(perm("manage_team")) and member.team_id and member.team.manager_id == by.id)
    )


def time_off_add(*, member, by, first_day, last_day, note: str = ""):
    """Book days off for a person (from today on, a year at most). ValidationError
    naming the field; PermissionDenied for anyone but them, their manager, an admin."""
    from datetime import date

    from django.core.exceptions import ValidationError

    from alignment.models import TimeOff

    if not _may_plan_for(by, member):
        raise PermissionDenied("Only the person, their team's manager or an admin books time off.")
    errors: dict[str, list[str]] = {}
    days = {}
    for name, value in (("first_day", first_day), ("last_day", last_day)):
        try:
            days[name] = value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError:
            errors[name] = ["A date, YYYY-MM-DD."]
    note = str(note or "").strip()
    if len(note) > 200:
        errors["note"] = ["At most 200 characters."]
    today = clock.now().date()
    if not errors:
        if days["first_day"] < today:
            errors["first_day"] = ["From today on: the past is not planned."]
        elif days["last_day"] < days["first_day"]:
            errors["last_day"] = ["On or after the first day."]
        elif (days["last_day"] - days["first_day"]).days >= TIME_OFF_DAYS_AT_MOST:
            errors["last_day"] = [f"At most {TIME_OFF_DAYS_AT_MOST} days at once."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        entry = TimeOff.objects.create(
            person=member, created_by=by, created_at=clock.now(), note=note, **days
        )
        audit.record(
            by=by,
            action="member.time_off",
            target=member,
            changes={"time_off": [None, f"{days['first_day']} to {days['last_day']}"]},
        )
    return entry


def time_off_remove(*, entry, by) -> None:
    """Cancel booked days off; the person may get leads again at once (their team's
    queue drains)."""
    if not _may_plan_for(by, entry.person):
        raise PermissionDenied("Only the person, their team's manager or an admin cancels it.")
    with transaction.atomic():
        entry.delete()
        audit.record(
            by=by,
            action="member.time_off",
            target=entry.person,
            changes={"time_off": [f"{entry.first_day} to {entry.last_day}", None]},
        )
        routing_listeners.call(member=entry.person, changes={}, now=clock.now())
