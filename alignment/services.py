import socket

from django.core.exceptions import PermissionDenied
from django.db import transaction

from alignment import audit, clock
from alignment.models import User, WorkerHeartbeat
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
