"""A CSV import started while Redis is down: the page answers, the import waits
queued, and a real worker and beat pick it up once a real Redis is back."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from django.urls import reverse

from leads.models import ImportStatus, Lead, LeadImport
from tests.processes import running
from tests.reliability.stack import (
    answers,
    beat_args,
    free_port,
    needs_redis_server,
    own_redis,
    wait_running,
    worker_args,
    worker_env,
)
from tests.reliability.test_sla_reliability import broker_at  # noqa: F401 - a fixture

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    needs_redis_server,
    pytest.mark.django_db(transaction=True),
]


def csv_file(rows: int) -> SimpleUploadedFile:
    lines = ["email,company,title,country"] + [
        f"buyer{n}@example.com,Company {n},Sales Director,United States" for n in range(rows)
    ]
    return SimpleUploadedFile("outage.csv", ("\r\n".join(lines) + "\r\n").encode())


def test_an_import_started_while_redis_is_down_is_imported_once_it_is_back(
    org, mql_in_force, territories, client, request, settings, tmp_path
):
    # The web app and the worker share the uploaded file, as in production.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    request.getfixturevalue("broker_at")(broker)
    assert not answers(port)  # Redis is down

    client.force_login(org["leo"])
    uploaded = client.post(reverse("leads:import"), {"file": csv_file(1500)})
    assert uploaded.status_code == 302
    lead_import = LeadImport.objects.get()
    form = {"action": "start", "source": "outage", "mode": "normal"}
    form.update({f"col_{i}": m for i, m in enumerate(lead_import.mapping)})
    started = client.post(reverse("leads:import_detail", args=[lead_import.pk]), form)
    assert started.status_code == 302  # not a 500: the database holds the import
    lead_import.refresh_from_db()
    assert lead_import.status == ImportStatus.QUEUED
    assert not Lead.objects.exists()
    # The sweep asks again for an import queued a while ago; time-machine does not
    # reach the beat, so the import is made older instead.
    LeadImport.objects.filter(pk=lead_import.pk).update(
        queued_at=F("queued_at") - dt.timedelta(minutes=2)
    )

    env = worker_env(tmp_path, broker=broker, LEAD_IMPORT_SWEEP_SECONDS="1")
    logs = [tmp_path / "worker.log", tmp_path / "beat.log"]
    with (
        own_redis(tmp_path, port),
        running(worker_args(), env, logs[0]) as worker,
        running(beat_args(tmp_path / "beat"), env, logs[1]) as beat,
    ):
        wait_running(
            [worker, beat],
            lambda: LeadImport.objects.get(pk=lead_import.pk).status == ImportStatus.DONE,
            timeout=90,
            what="the swept import to finish",
            logs=logs,
        )
    lead_import.refresh_from_db()
    assert (lead_import.created_count, lead_import.rejected_count) == (1500, 0)
    assert Lead.objects.filter(source="outage").count() == 1500
