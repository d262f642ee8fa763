"""Real background processes for tests: Celery workers and beat, as in production."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url_for_workers() -> str:
    """The URL of the database this test run uses (the test database, not the real one)."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    user = s["USER"] or "postgres"
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgres://{user}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "REDIS_", "PYTEST_"))
    }
    env["DJANGO_SETTINGS_MODULE"] = "alignment.settings"
    env.update(extra)
    return env


def pytest_on_sqlite(tmp_path: Path, *paths: str) -> str:
    """Run `paths` again with pytest on a fresh SQLite database (the local default), the
    slow tests left out; returns pytest's output, or fails with it."""
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'sqlite.sqlite3'}",
        ALIGNMENT_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="alignment.settings_test",
        CI="",
    )
    env.pop("TEST_DATABASE_NAME", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *paths, "-q", "-m", "not slow", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout.strip()


@contextlib.contextmanager
def running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
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


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, logs=()) -> object:
    """Wait for another process to do something (not to move time: for that, time-machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    tails = "\n".join(f"--- {p}\n{Path(p).read_text()[-3000:]}" for p in logs)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tails}")
