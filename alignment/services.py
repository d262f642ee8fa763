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
