"""A scan that kills itself in the middle of a batch: `python -m tests.reliability.crashing_scan
BATCH KILL_IN_BATCH` runs one scan in batches of BATCH clocks and SIGKILLs its own process
inside the KILL_IN_BATCH-th batch, after the batch's clocks are claimed and its events and
notifications written, before the batch commits. Test-only: production code has the seam
(`sla.scan.on_batch`), never the fault."""

import os
import signal
import sys

import django


def main(batch: int, kill_in: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")
    django.setup()
    from sla import scan

    written = 0

    def kill_mid_batch(stage: str, step: str, clock_ids: list[int]) -> None:
        nonlocal written
        if stage == "written":
            written += 1
            if written == kill_in:
                os.kill(os.getpid(), signal.SIGKILL)

    scan.on_batch = kill_mid_batch
    print(scan.scan(batch=batch))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
