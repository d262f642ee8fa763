"""Celery tasks of the leads app: thin, idempotent, taking ids."""

from celery import shared_task

from leads.assignment import DRAIN_BATCH, queue_drain
from leads.imports import lead_import_run, lead_imports_sweep


@shared_task(acks_late=True)
def run_lead_import(import_id: int) -> None:
    """Import what is left of a CSV import. Running it twice, or after a crash,
    imports no row twice: each chunk commits together with its progress."""
    lead_import_run(lead_import_id=import_id)


# Its own time limits, as every task sets (sla.tasks, alignment.tasks): a sweep only queues ids.
@shared_task(soft_time_limit=60, time_limit=90)
def sweep_lead_imports() -> None:
    """Ask again for the imports queued while the broker was down (or whose message was lost)."""
    lead_imports_sweep()


@shared_task(soft_time_limit=60, time_limit=90)
def drain_queues() -> None:
    """Give queued leads to reps who can take them now: what a lost after-commit drain
    (or a shift that started) left waiting."""
    while queue_drain() == DRAIN_BATCH:
        pass
