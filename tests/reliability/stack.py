"""The real stack for reliability tests: Redis servers of their own, workers and beats.

Every test that starts workers starts its own Redis on a free port, so that its
queues, its beat lock and whatever it leaves behind go with that server.
"""

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import uuid

import pytest
from celery import Celery
from django.db.models import Count

from alignment.models import Notification
from sla.models import ClockEvent
from tests.processes import ROOT, clean_env, database_url_for_workers, wait_for


def event_counts(kind: str) -> list[int]:
    """How many events of `kind` each clock has (one entry per clock that has any)."""
    rows = ClockEvent.objects.filter(kind=kind).values("clock").annotate(n=Count("id"))
    return sorted(row["n"] for row in rows)


def duplicate_notifications() -> list[dict]:
    rows = Notification.objects.values("recipient", "key").annotate(n=Count("id"))
    return list(rows.filter(n__gt=1))


def subprocess_env(tmp_path, **extra: str) -> dict[str, str]:
    defaults = {
        "DATABASE_URL": database_url_for_workers(),
        "ALIGNMENT_VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "memory://",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }
    return clean_env(**{**defaults, **extra})


def scan_sla(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "scan_sla"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


ALL_QUEUES = "celery,scan,email"


def worker_args(queues: str = ALL_QUEUES, *, concurrency: int = 1) -> list[str]:
    """A worker pool as in production (prefork, so that its time limits hold) on `queues`."""
    return [
        "celery", "-A", "alignment", "worker", "-Q", queues, "--pool", "prefork",
        "-c", str(concurrency), "-n", f"{queues.replace(',', '-')}-{uuid.uuid4().hex[:6]}@%h",
        "--without-gossip", "--without-mingle", "-l", "INFO",
    ]  # fmt: skip


def beat_args(schedule) -> list[str]:
    return ["celery", "-A", "alignment", "beat", "-s", str(schedule), "-l", "INFO"]


def worker_env(tmp_path, *, broker: str, **extra: str) -> dict[str, str]:
    """Workers and beats on a Redis of the test's own (so its queues are the test's own)."""
    return subprocess_env(tmp_path, CELERY_BROKER_URL=broker, **extra)


def free_port() -> int:
    """A free port below the ephemeral range (32768+), so that no client socket takes it
    while our Redis is down and we mean to start it again on the same port."""
    for _ in range(50):
        port = random.randrange(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port between 20000 and 32000")


@contextlib.contextmanager
def own_redis(tmp_path, port: int):
    """A Redis server of this test's own (never the shared one): it may be stopped."""
    log = open(tmp_path / f"redis-{port}.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--dir", str(tmp_path)],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(
            lambda: proc.poll() is not None or answers(port),
            timeout=10,
            what=f"redis-server on port {port}",
        )
        assert proc.poll() is None, f"redis-server could not start on port {port}"
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def kill_group(proc) -> None:
    """SIGKILL a worker or beat and every process of its group, and wait until none is
    left: a prefork child may hold a socket (an SMTP session) a moment after its parent
    is reaped, and a peer that looks alive then would be answered as if it listened."""

    def gone() -> bool:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        return False

    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    wait_for(gone, timeout=10, what=f"every process of group {proc.pid} to exit")


def wait_running(procs, condition, *, timeout: float, what: str, logs) -> None:
    """wait_for, failing at once (with the logs) if a worker or beat has died meanwhile."""

    def check():
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            tails = "\n".join(f"--- {log}\n{log.read_text()[-3000:]}" for log in logs)
            raise AssertionError(f"a process exited while waiting for {what}\n{tails}")
        return condition()

    wait_for(check, timeout=timeout, what=what, logs=logs)


def send_task(broker: str, name: str, queue: str = "email") -> None:
    # Not set as the current app, or every shared task in this process would follow it.
    producer = Celery(broker=broker, set_as_current=False)
    # A CELERY_BROKER_URL in this process's environment would win over broker=.
    producer.conf.broker_write_url = broker
    try:
        producer.send_task(name, queue=queue)
    finally:
        producer.close()


needs_redis_server = pytest.mark.skipif(
    not any(
        os.access(os.path.join(d, "redis-server"), os.X_OK)
        for d in os.environ.get("PATH", "").split(os.pathsep)
    ),
    reason="no redis-server binary to start a Redis of the test's own",
)
