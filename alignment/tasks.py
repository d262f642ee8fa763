from celery import shared_task

from alignment import services


@shared_task(name="alignment.tasks.heartbeat")
def heartbeat() -> None:
    services.heartbeat_record()
