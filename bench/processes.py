"""Real processes for benchmarks, the ones the reliability tests start (tests/reliability):
a Redis server of the benchmark's own, Celery workers and beats. Import it once Django
is set up (in a benchmark's child process). Not a bench_*.py module: `python -m bench`
does not run it on its own.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from tests.processes import ROOT, running, wait_for  # noqa: F401 - the benches' toolbox
from tests.reliability.stack import beat_args, free_port, own_redis, worker_args  # noqa: F401


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A Redis of the benchmark's own on a free port (or BENCH_REDIS_URL): its URL."""
    if os.environ.get("BENCH_REDIS_URL"):
        yield os.environ["BENCH_REDIS_URL"]
        return
    port = free_port()
    with own_redis(folder, port):
        yield f"redis://127.0.0.1:{port}/0"


def app_env(broker: str, folder: Path, **extra: str) -> dict[str, str]:
    """The environment of this process (its DATABASE_URL), pointed at `broker`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "BENCH_"))}
    env.update({"CELERY_BROKER_URL": broker, "ALIGNMENT_VAR_DIR": str(folder), **extra})
    return env
