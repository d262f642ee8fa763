"""Thin tasks: each calls one service. All are safe to run twice or not at all.

Time limits: the soft one raises inside the task (a scan rolls back the batch it
was in; what it committed stays), the hard one kills the worker process. A scan
runs every SLA_SCAN_SECONDS and finishes what is due in well under a second per
thousand clocks, so two minutes means something is wrong, not busy.
"""

from celery import shared_task


@shared_task(name="sla.tasks.scan", soft_time_limit=120, time_limit=150)
def scan() -> str:
    from sla.scan import scan as run

    return str(run())


@shared_task(name="sla.tasks.compute_commitments", soft_time_limit=600, time_limit=660)
def compute_commitments() -> int:
    from sla.commitment import compute_all

    return len(compute_all())


@shared_task(name="sla.tasks.whatif_run", soft_time_limit=300, time_limit=330)
def whatif_run(replay_id: int) -> str:
    from sla.whatif import whatif_run as run

    return run(replay_id=replay_id)


@shared_task(name="sla.tasks.flag_campaign_overloads", soft_time_limit=120, time_limit=150)
def flag_campaign_overloads() -> int:
    from alignment import clock
    from sla.capacity import flag_overloads

    return flag_overloads(now=clock.now())
