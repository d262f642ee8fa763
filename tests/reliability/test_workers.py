"""The background really runs: a Celery worker on Redis, and the no-server local default."""

import sqlite3
import subprocess
import sys
import uuid

import pytest
from celery import Celery
from django.conf import settings

from alignment.models import WorkerHeartbeat
from tests.processes import ROOT, clean_env, database_url_for_workers, running, wait_for


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_runs_a_queued_task_against_postgresql(tmp_path):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = clean_env(
        DATABASE_URL=database_url_for_workers(), CELERY_BROKER_URL=settings.TEST_REDIS_URL
    )
    log = tmp_path / "worker.log"
    args = [
        "celery",
        "-A",
        "alignment",
        "worker",
        "-Q",
        queue,
        "--pool",
        "solo",
        "-n",
        f"{queue}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    with running(args, env, log):
        producer = Celery(broker=settings.TEST_REDIS_URL, set_as_current=False)
        producer.send_task("alignment.tasks.heartbeat", queue=queue)
        beat = wait_for(
            lambda: WorkerHeartbeat.objects.filter(name="worker", seen_at__isnull=False).first(),
            timeout=60,
            what="the worker to record its heartbeat",
            logs=[log],
        )
    assert beat.hostname


@pytest.mark.slow
def test_local_default_runs_worker_and_beat_in_separate_processes_with_no_servers(tmp_path):
    env = clean_env(ALIGNMENT_VAR_DIR=str(tmp_path), HEARTBEAT_SECONDS="1")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    database = tmp_path / "alignment.sqlite3"

    def heartbeat_seen():
        with sqlite3.connect(database) as db:
            row = db.execute(
                "SELECT seen_at FROM alignment_workerheartbeat WHERE name = 'worker'"
            ).fetchone()
        return row and row[0]

    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    worker = [
        "celery",
        "-A",
        "alignment",
        "worker",
        "--pool",
        "solo",
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"local-{uuid.uuid4().hex[:6]}@%h",
    ]
    beat = ["celery", "-A", "alignment", "beat", "-s", str(tmp_path / "schedule")]
    with running(worker, env, worker_log), running(beat, env, beat_log):
        wait_for(
            heartbeat_seen,
            timeout=90,
            what="beat -> filesystem queue -> worker",
            logs=[worker_log, beat_log],
        )
    assert (tmp_path / "celery" / "queue").is_dir()
