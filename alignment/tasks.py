"""Thin tasks of the organisation app, each with soft and hard time limits (see settings)."""

from celery import shared_task

from alignment import services


@shared_task(name="alignment.tasks.heartbeat", soft_time_limit=10, time_limit=20)
def heartbeat() -> None:
    services.heartbeat_record()


# Delivery stops taking new work well before its soft limit (notifications.DELIVERY_BUDGET)
# and is woken again by the next scan or the sweep, so the limits only catch a hang.
@shared_task(name="alignment.tasks.deliver_emails", soft_time_limit=240, time_limit=300)
def deliver_emails() -> int:
    from alignment.notifications import deliver_pending

    return deliver_pending()


@shared_task(name="alignment.tasks.send_digests", soft_time_limit=600, time_limit=660)
def send_digests() -> int:
    from alignment.notifications import send_digests as send

    return send()


# Like email: a run stops taking work before its soft limit (webhooks.DELIVERY_BUDGET),
# and beat wakes the next every few seconds; a run lost mid-send is found again.
@shared_task(name="alignment.tasks.deliver_webhooks", soft_time_limit=80, time_limit=100)
def deliver_webhooks() -> int:
    from alignment.webhooks import deliver_pending

    return deliver_pending()


@shared_task(name="alignment.tasks.maintain_partitions", soft_time_limit=1800, time_limit=1900)
def maintain_partitions() -> list[str]:
    from alignment.partitions import maintain

    return maintain()
