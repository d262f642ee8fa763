"""Run a benchmark in a PostgreSQL database of its own, in a child process.

A benchmark module calls `run(...)` from its main(); the child (the same module,
started again with `child_flag` set) migrates the new database, loads its data,
measures, and prints one line `BENCH_RESULT {json}`. The database's name is the
module's prefix plus a random suffix (and BENCH_DATABASE_TAG, if set), so two
people running `make bench` at once on one server never drop each other's
database; it is dropped afterwards, whatever happened. Not a bench_*.py module:
`python -m bench` does not run it on its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
RESULT_PREFIX = "BENCH_RESULT "
ROOT = Path(__file__).resolve().parents[1]


def database_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _admin_connection():
    import psycopg2

    connection = psycopg2.connect(ADMIN_URL)
    connection.autocommit = True
    return connection


def _drop(cursor, name: str) -> None:
    cursor.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        [name],
    )
    cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def unique_name(prefix: str) -> str:
    tag = os.environ.get("BENCH_DATABASE_TAG", "")
    return "_".join(part for part in (prefix, tag, uuid.uuid4().hex[:10]) if part)


def run(*, module: str, database: str, child_flag: str, env: dict[str, str] | None = None):
    """Create a database named `database` plus a unique suffix, run `python -m module`
    with `child_flag` set against it, echo its output, return the result it printed
    (or {}), drop the database."""
    database = unique_name(database)
    try:
        connection = _admin_connection()
    except Exception as exc:  # noqa: BLE001 - no server: say so and measure nothing
        print(f"PostgreSQL does not answer at {ADMIN_URL} ({exc}); {module} skipped.")
        return {}
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database}"')
    print(f"  (database {database})", flush=True)
    child_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "REDIS_"))
    }
    child_env.update(
        {
            child_flag: "1",
            "DATABASE_URL": database_url(database),
            "DJANGO_SETTINGS_MODULE": "alignment.settings",
            "DJANGO_DEBUG": "false",
            "CELERY_BROKER_URL": "memory://",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
    )
    result: dict[str, float] = {}
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", module],
            env=child_env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for line in child.stdout:
            if line.startswith(RESULT_PREFIX):
                result = json.loads(line[len(RESULT_PREFIX) :])
            else:
                print(line, end="", flush=True)
        if child.wait():
            print(f"{module}: the child process failed ({child.returncode}).")
    finally:
        with connection.cursor() as cursor:
            _drop(cursor, database)
        connection.close()
    return result


def setup_django() -> None:
    """In the child: Django set up as a web or worker process is at its start, with what
    it loaded frozen out of the garbage collector's walks (alignment.startup), so that
    what is measured is what such a process does."""
    import django

    django.setup()
    from alignment.startup import freeze_loaded

    freeze_loaded()
