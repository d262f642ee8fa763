from celery import shared_task

from alignment import services


@shared_task(name="alignment.tasks.heartbeat")
def heartbeat() -> None:
    services.heartbeat_record()


@shared_task(name="alignment.tasks.deliver_emails")
def deliver_emails() -> int:
    from alignment.notifications import deliver_pending

    return deliver_pending()


@shared_task(name="alignment.tasks.send_digests")
def send_digests() -> int:
    from alignment.notifications import send_digests as send

    return send()
