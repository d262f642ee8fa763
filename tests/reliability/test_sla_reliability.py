"""The SLA scan under stress: racing scans, two beats, killed workers, Redis down.

Against real PostgreSQL, real Celery workers and beats on Redis, and a real
SMTP conversation. Time-machine does not reach a subprocess, so the clocks a
subprocess scans are made due by handing the leads off in the past (Monday
2026-11-16, before "now" on this machine) or by moving their deadlines in SQL.
"""

import datetime as dt
import subprocess
import sys

import pytest
import time_machine
from django.core import mail
from django.db.models import Count, F

from alignment.models import Notification
from leads import services as lead_services
from leads.validation import clean_lead_input
from sla.models import ArbiterCase, Clock, ClockEvent
from sla.scan import scan
from tests.leads.conftest import QUALIFYING
from tests.processes import ROOT, clean_env, database_url_for_workers
from tests.reliability.test_lead_races import run_together
from tests.sla.engine import MONDAY_10_NY, agreement  # noqa: F401 - a fixture

# Monday 11:00 New York: the 1-hour "Hot" deadline of a lead handed off at 10:00.
MONDAY_DUE = MONDAY_10_NY + dt.timedelta(hours=1)


def hand_off_many(org, prefix: str, count: int, *, at: dt.datetime | None = None) -> list:
    """`count` hot leads handed to Sales Americas reps at `at`, in one bulk ingest."""
    items = []
    for n in range(count):
        data, errors = clean_lead_input(
            {
                **QUALIFYING,
                "external_id": f"{prefix}-{n}",
                "first_name": prefix,
                "last_name": f"{n}",
            }
        )
        assert not errors, errors
        items.append(data)
    results = lead_services.leads_ingest_bulk(items=items, by=org["leo"], now=at)
    leads = [r.lead for r in results]
    assert all(lead.owner_id for lead in leads)
    return leads


def event_counts(kind: str) -> list[int]:
    """How many events of `kind` each clock has (one entry per clock that has any)."""
    rows = ClockEvent.objects.filter(kind=kind).values("clock").annotate(n=Count("id"))
    return sorted(row["n"] for row in rows)


def duplicate_notifications() -> list[dict]:
    rows = Notification.objects.values("recipient", "key").annotate(n=Count("id"))
    return list(rows.filter(n__gt=1))


def subprocess_env(tmp_path, **extra: str) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=database_url_for_workers(),
        ALIGNMENT_VAR_DIR=str(tmp_path),
        CELERY_BROKER_URL="memory://",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        LOG_LEVEL="WARNING",
        **extra,
    )


def scan_sla(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "scan_sla"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# -- two scans at once ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.usefixtures("agreement", "territories")
@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_breach_escalate_and_notify_each_clock_once(org):
    with time_machine.travel(MONDAY_10_NY, tick=False) as traveller:
        two_scans_at_once(org, traveller)


def two_scans_at_once(org, traveller):
    hand_off_many(org, "Race", 50)
    traveller.shift(dt.timedelta(hours=2))  # 12:00: every 1-hour deadline has passed

    outcomes = run_together(scan, scan)
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert sum(result.warned for _, result in outcomes) == 50
    assert sum(result.breached for _, result in outcomes) == 50
    assert event_counts("sla_warning") == [1] * 50
    assert event_counts("sla_breached") == [1] * 50
    assert Clock.objects.filter(state="breached", breached_at=MONDAY_DUE).count() == 50

    # Escalation is due 4 business hours after the breach: 15:00.
    traveller.move_to(MONDAY_10_NY.replace(hour=15, minute=1))
    outcomes = run_together(scan, scan)
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert sum(result.escalated for _, result in outcomes) == 50
    assert ArbiterCase.objects.count() == 50
    assert event_counts("escalated") == [1] * 50

    assert duplicate_notifications() == []
    by_kind = dict(
        Notification.objects.values_list("kind").annotate(n=Count("id")).values_list("kind", "n")
    )
    # A warning to the rep; a breach to the rep and their manager; an escalation to the arbiter.
    assert by_kind == {"sla_warning": 50, "sla_breached": 100, "escalated": 50}
    # Delivery ran (eagerly) after each scan's commits, in both threads: one email each.
    assert Notification.objects.exclude(email_state="sent").count() == 0
    sent = [(tuple(m.to), m.subject) for m in mail.outbox]
    assert len(sent) == len(set(sent)) == 200


# -- a scan killed in the middle ----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.usefixtures("agreement", "territories")
@pytest.mark.django_db(transaction=True)
def test_a_scan_killed_midway_loses_nothing_and_the_next_scan_breaches_each_clock_once(
    org, tmp_path
):
    hand_off_many(org, "Kill", 20, at=MONDAY_10_NY)
    # Warnings already sent, so every clock the scan handles is a breach.
    Clock.objects.update(warned_at=F("warn_at"))

    crashed = scan_sla(subprocess_env(tmp_path, SLA_SCAN_CRASH_AFTER="7"))
    assert crashed.returncode == 137, crashed.stderr
    assert crashed.stdout == ""  # it never got to say what it did
    assert Clock.objects.filter(state="breached").count() == 7
    assert event_counts("sla_breached") == [1] * 7

    finished = scan_sla(subprocess_env(tmp_path))
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "warned 0, breached 13, escalated 20"
    assert Clock.objects.filter(state="breached", breached_at=MONDAY_DUE).count() == 20
    assert event_counts("sla_breached") == [1] * 20
    assert event_counts("escalated") == [1] * 20
    breaches = ClockEvent.objects.filter(kind="sla_breached")
    assert breaches.exclude(occurred_at=MONDAY_DUE).count() == 0
    assert duplicate_notifications() == []
    assert Notification.objects.filter(kind="sla_breached").count() == 40
