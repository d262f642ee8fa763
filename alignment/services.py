import socket

from django.core.exceptions import PermissionDenied

from alignment import clock
from alignment.models import User, WorkerHeartbeat
from alignment.roles import perm


def heartbeat_record(*, name: str = "worker") -> None:
    WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"seen_at": clock.now(), "hostname": socket.gethostname()}
    )


def member_set_away(*, member, away: bool, by) -> None:
    """Mark a team member away or back. Only their team's manager (or an admin) may."""
    if not (
        by.has_perm(perm("manage_organisation"))
        or (by.has_perm(perm("manage_team")) and member.team_id and member.team.manager_id == by.id)
    ):
        raise PermissionDenied("Only the manager of this person's team may mark them away.")
    User.objects.filter(pk=member.pk).update(is_away=away)
    member.is_away = away
