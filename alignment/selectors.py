from django.db.models import Prefetch, QuerySet

from alignment.models import Team, User, WorkerHeartbeat


def teams_managed_by(user: User) -> QuerySet[Team]:
    members = User.objects.filter(is_active=True).prefetch_related("groups")
    return (
        Team.objects.filter(manager=user)
        .prefetch_related(Prefetch("members", queryset=members))
        .order_by("name")
    )


def worker_heartbeat() -> WorkerHeartbeat | None:
    return WorkerHeartbeat.objects.filter(name="worker").first()
