"""Fixtures for the clock engine: an agreement in force, a time, a lead handed off."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from alignment import clock
from leads import ingest
from leads.validation import clean_lead_input
from sla.models import Agreement, AgreementStatus, PauseCondition, SalesGoal, TeamCommitment
from tests.leads.conftest import QUALIFYING

NEW_YORK = ZoneInfo("America/New_York")
# Monday 10:00 in New York: Sales Americas' default calendar is Mon-Fri 09:00-17:00 there.
MONDAY_10_NY = dt.datetime(2026, 11, 16, 10, 0, tzinfo=NEW_YORK)


def in_force(org, goals: list[dict], conditions: tuple[dict, ...] = (), **terms) -> Agreement:
    """Agreement v1 in force, built as rows (these tests are about the clocks, not
    signing): its goals in order, a commitment to Sales Americas, its pause conditions
    (`terms`: the agreement's own fields besides the defaults)."""
    now = clock.now()
    agreement = Agreement.objects.create(
        number=1,
        status=AgreementStatus.DRAFT,
        created_by=org["maya"],
        created_at=now,
        updated_at=now,
        escalation_hours=Decimal("4"),
        min_acceptance_rate=70,
        **terms,
    )
    for position, goal in enumerate(goals):
        SalesGoal.objects.create(agreement=agreement, position=position, **goal)
    for position, condition in enumerate(conditions):
        PauseCondition.objects.create(agreement=agreement, position=position, **condition)
    TeamCommitment.objects.create(agreement=agreement, team=org["sam"].team, monthly_mqls=20)
    # In force only once complete: the database freezes an agreed agreement's goals.
    Agreement.objects.filter(pk=agreement.pk).update(status=AgreementStatus.AGREED, agreed_at=now)
    agreement.refresh_from_db()
    return agreement


ATTEMPTS = {"min_attempts": 3, "attempt_days": 2, "warn_percent": 75}


@pytest.fixture
def agreement(org, mql_in_force):
    """Hot leads (score 85 or more) accepted within 1 business hour, others within 8."""
    return in_force(
        org,
        [
            {"label": "Hot", "min_score": 85, "accept_hours": 1, "first_touch_hours": 2} | ATTEMPTS,
            {"label": "Everyone else", "accept_hours": 8, "first_touch_hours": 16} | ATTEMPTS,
        ],
    )


@pytest.fixture
def cadence(org, mql_in_force):
    """For every lead: accept within 1 h, first touch within 2 h, 3 attempts over 4
    business days (so one every 2 at most), then a touch every business day while SAL
    or SQL; "Waiting on the prospect" pauses the clocks for 2 business days at most."""
    return in_force(
        org,
        [
            {
                "label": "Everyone",
                "accept_hours": 1,
                "first_touch_hours": 2,
                "min_attempts": 3,
                "attempt_days": 4,
                "followup_days": 1,
                "followup_through": "sql",
                "warn_percent": 75,
            }
        ],
        conditions=({"label": "Waiting on the prospect", "max_days": 2},),
    )


@pytest.fixture
def at_monday():
    with time_machine.travel(MONDAY_10_NY, tick=False) as traveller:
        yield traveller


def hand_off(org, external_id: str, **overrides):
    """A lead in the Americas scoring 90 (TotalVisits 5: not 'hot' unless asked)."""
    data, errors = clean_lead_input({**QUALIFYING, "external_id": external_id, **overrides})
    assert not errors, errors
    lead = ingest.lead_ingest(data=data, by=org["leo"], now=clock.now()).lead
    assert lead.owner is not None
    return lead


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
    results = ingest.leads_ingest_bulk(items=items, by=org["leo"], now=at)
    leads = [r.lead for r in results]
    forget_notices_but_the_scans()
    assert all(lead.owner_id for lead in leads)
    return leads


def forget_notices_but_the_scans() -> None:
    """The tests that hand off leads in bulk watch the scan's notices and emails: the
    others the setup caused (each rep told of their new leads, the signers of the MQL
    definition) are set aside, in the database and in the test outbox."""
    from django.core import mail

    from alignment.models import Notification

    Notification.objects.exclude(key__startswith="clock:").delete()
    if hasattr(mail, "outbox"):
        mail.outbox.clear()


@pytest.fixture
def refuse():
    """refuse(clock_ids, at_commit=False): the database refuses to breach those clocks,
    at once (a BEFORE UPDATE trigger) or only when the transaction commits (a deferred
    constraint trigger on the breach event), as a bad row would."""
    made = []

    def make(clock_ids, *, at_commit=False):
        name, column, table = (
            ("test_refuse_commit", "clock_id", "sla_clockevent")
            if at_commit
            else ("test_refuse_claim", "id", "sla_clock")
        )
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {name} (id bigint PRIMARY KEY)")
            cursor.execute(
                f"INSERT INTO {name} SELECT unnest(%s::bigint[]) ON CONFLICT DO NOTHING",
                [list(clock_ids)],
            )
            cursor.execute(
                f"""
                CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF EXISTS (SELECT 1 FROM {name} WHERE id = NEW.{column}) THEN
                        RAISE EXCEPTION 'clock % refused', NEW.{column};
                    END IF;
                    RETURN NEW;
                END $$
                """
            )
            if at_commit:
                cursor.execute(
                    f"CREATE CONSTRAINT TRIGGER {name} AFTER INSERT ON {table} "
                    f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {name}()"
                )
            else:
                cursor.execute(
                    f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} FOR EACH ROW "
                    f"WHEN (NEW.state = 'breached') EXECUTE FUNCTION {name}()"
                )
            made.append((name, table))

    yield make
    with connection.cursor() as cursor:
        for name, table in made:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
