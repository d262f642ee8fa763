"""Thin tasks: each calls one service. All are safe to run twice or not at all."""

from celery import shared_task


@shared_task(name="sla.tasks.scan")
def scan() -> str:
    from sla.scan import scan as run

    return str(run())


@shared_task(name="sla.tasks.compute_commitments")
def compute_commitments() -> int:
    from sla.commitment import compute_all

    return len(compute_all())
