"""Real processes for benchmarks: a Redis server of their own, Celery workers and beats.

Not a bench_*.py module: `python -m bench` does not run it on its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def wait(condition: Callable[[], object], timeout: float, what: str, poll: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A Redis of the benchmark's own on a free port (or BENCH_REDIS_URL): its URL."""
    if os.environ.get("BENCH_REDIS_URL"):
        yield os.environ["BENCH_REDIS_URL"]
        return
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(folder)]
    with process(args, dict(os.environ), folder / "redis.log"):
        wait(lambda: _pong(port), 10, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"


def app_env(broker: str, folder: Path, **extra: str) -> dict[str, str]:
    """The environment of this process (its DATABASE_URL), pointed at `broker`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "BENCH_"))}
    env.update({"CELERY_BROKER_URL": broker, "ALIGNMENT_VAR_DIR": str(folder), **extra})
    return env


def worker_args(queues: str, *, concurrency: int = 1) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "alignment", "worker", "-Q", queues,
        "-c", str(concurrency), "-n", f"{queues.replace(',', '-')}-{uuid.uuid4().hex[:6]}@%h",
        "--without-gossip", "--without-mingle", "-l", "INFO",
    ]  # fmt: skip


def beat_args(folder: Path) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "alignment", "beat", "-l", "INFO",
            "-s", str(folder / f"beat-{uuid.uuid4().hex[:6]}")]  # fmt: skip
