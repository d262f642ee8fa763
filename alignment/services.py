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
