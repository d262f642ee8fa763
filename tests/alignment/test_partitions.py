"""The history tables are partitioned by month on PostgreSQL (issue 15): each row lands
in its month (or DEFAULT), months are made ahead, old months leave whole as files an
analyst can load, every month refuses edits, and the reads touch the months they need."""

import csv
import gzip
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from alignment import partitions
from alignment.notifications import notify
from leads import ingest, selectors
from leads.models import LeadEvent
from sla.models import ClockDayRollup
from tests.leads import conftest as leads_fixtures

pytestmark = pytest.mark.postgres
territories = leads_fixtures.territories

MARCH_2025 = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


def where(table: str, row_id: int) -> str:
    """The partition holding the row."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [row_id])
        return cursor.fetchone()[0]


def lead_at(moment: datetime, org, external_id: str):
    with time_machine.travel(moment, tick=False):
        return ingest.lead_ingest(
            data={**leads_fixtures.QUALIFYING, "external_id": external_id},
            by=org["leo"],
            via="test",
        ).lead


def test_the_four_history_tables_are_partitioned_with_months_ahead(db):
    now = datetime.now(UTC)
    for spec in partitions.TABLES:
        assert partitions.is_partitioned(spec.table), spec.table
        months = partitions.months_of(spec.table)
        this_month = partitions.month_start(now)
        assert [partitions.add_months(this_month, n) for n in range(4)] == months[-4:]


def test_a_lead_event_of_an_old_month_lands_in_that_months_partition(org, territories):
    made = partitions.ensure(now=MARCH_2025, ahead=0)
    assert "leads_leadevent_p202503" in made
    lead = lead_at(MARCH_2025, org, "P-1")
    event = LeadEvent.objects.filter(lead=lead).first()
    assert where("leads_leadevent", event.pk) == "leads_leadevent_p202503"


def test_a_row_of_a_month_without_partition_lands_in_default(org, territories):
    lead = lead_at(datetime(2001, 5, 1, tzinfo=UTC), org, "P-2")
    event = LeadEvent.objects.filter(lead=lead).first()
    assert where("leads_leadevent", event.pk) == "leads_leadevent_default"
    # That month is then not made (its rows would have to leave DEFAULT), and says so.
    assert "leads_leadevent_p200105" not in partitions.ensure(
        now=datetime(2001, 5, 2, tzinfo=UTC), ahead=0
    )
    assert where("leads_leadevent", event.pk) == "leads_leadevent_default"


def test_every_month_of_lead_events_refuses_update_and_delete(org, territories):
    partitions.ensure(now=MARCH_2025, ahead=0)
    lead = lead_at(MARCH_2025, org, "P-3")
    lead_at(datetime(2001, 5, 1, tzinfo=UTC), org, "P-3b")  # a row in DEFAULT too
    for statement in (
        "UPDATE leads_leadevent_p202503 SET kind = 'x'",
        "DELETE FROM leads_leadevent_p202503",
        "UPDATE leads_leadevent_default SET kind = 'x'",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadEvent.objects.filter(lead=lead).delete()
    assert LeadEvent.objects.filter(lead=lead).exists()


def test_the_command_and_the_beat_task_make_the_coming_months(db, settings):
    settings.HISTORY_PARTITIONS_AHEAD = 2
    with time_machine.travel(datetime(2031, 11, 20, tzinfo=UTC), tick=False):
        call_command("partitions", stdout=io.StringIO())
        from alignment.tasks import maintain_partitions

        assert maintain_partitions() == []  # the command made them already: nothing twice
    for spec in partitions.TABLES:
        months = partitions.months_of(spec.table)
        assert {date(2031, 11, 1), date(2031, 12, 1), date(2032, 1, 1)} <= set(months)
        assert date(2032, 2, 1) not in months


def test_one_event_notifies_a_person_once_even_across_months(org):
    key = "lead:7:breached"
    for moment in (datetime(2031, 1, 5, tzinfo=UTC), datetime(2031, 2, 5, tzinfo=UTC)):
        partitions.ensure(now=moment, ahead=0)
        notify(recipients=[org["ravi"]], key=key, kind="k", title="t", now=moment)
    from alignment.models import Notification

    assert Notification.objects.filter(recipient=org["ravi"], key=key).count() == 1
    with connection.cursor() as cursor:  # the batch path (ON CONFLICT DO NOTHING) too
        cursor.execute(
            "INSERT INTO alignment_notification (recipient_id, key, kind, title, body, url, "
            "created_at, email_state, email_attempts, email_error) VALUES "
            "(%s, %s, 'k', 't', '', '', '2031-03-05', 'skipped', 0, '') ON CONFLICT DO NOTHING",
            [org["ravi"].pk, key],
        )
    assert Notification.objects.filter(recipient=org["ravi"], key=key).count() == 1


def test_old_months_leave_whole_as_files_an_analyst_can_load(org, territories, tmp_path):
    partitions.ensure(now=MARCH_2025, ahead=1)
    lead = lead_at(MARCH_2025, org, "P-4")
    recent = lead_at(datetime.now(UTC), org, "P-5")
    kept = list(LeadEvent.objects.filter(lead=lead).order_by("id").values_list("id", "kind"))
    assert kept

    written = partitions.archive(
        now=datetime(2025, 6, 1, tzinfo=UTC), keep_months=2, directory=tmp_path
    )

    data = tmp_path / "leads_leadevent_p202503.csv.gz"
    assert data in written
    # Kept: April and May, the two months before June; every table's March left whole.
    assert date(2025, 4, 1) in partitions.months_of("leads_leadevent")
    assert tmp_path / "alignment_notification_p202503.csv.gz" in written
    assert "leads_leadevent_p202503" not in [
        partitions.partition_name("leads_leadevent", m)
        for m in partitions.months_of("leads_leadevent")
    ]
    assert not LeadEvent.objects.filter(lead=lead).exists()
    assert LeadEvent.objects.filter(lead=recent).exists()  # other months untouched
    with gzip.open(data, "rt") as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["id"]), r["kind"]) for r in rows] == kept
    # The .sql file recreates the table; the CSV loads into it with COPY.
    script = (tmp_path / "leads_leadevent_p202503.sql").read_text()
    create = script[script.index("CREATE TABLE") : script.index(");") + 2]
    with connection.cursor() as cursor:
        cursor.execute(create)
        with gzip.open(data, "rb") as f:
            cursor.copy_expert(
                "COPY leads_leadevent_p202503 FROM STDIN WITH (FORMAT csv, HEADER true)", f
            )
        cursor.execute("SELECT id, kind FROM leads_leadevent_p202503 ORDER BY id")
        assert cursor.fetchall() == kept


def test_archiving_is_off_unless_a_retention_is_set(db, settings, tmp_path):
    settings.HISTORY_RETENTION_MONTHS = 0
    settings.HISTORY_ARCHIVE_DIR = tmp_path
    partitions.ensure(now=MARCH_2025, ahead=0)
    partitions.maintain(now=datetime(2031, 1, 1, tzinfo=UTC))
    assert date(2025, 3, 1) in partitions.months_of("leads_leadevent")
    assert list(tmp_path.iterdir()) == []


def plan(queryset) -> str:
    return queryset.explain()


def test_the_lead_page_reads_the_months_since_the_lead_was_created(org, territories):
    partitions.ensure(now=MARCH_2025, ahead=1, back=2)
    lead = lead_at(MARCH_2025, org, "P-6")
    shown = plan(selectors.lead_events(lead))
    assert "leads_leadevent_p202503" in shown
    assert "leads_leadevent_p202502" not in shown
    assert "leads_leadevent_p202501" not in shown
    assert [e.kind for e in selectors.lead_detail(lead.pk, org["maya"]).events.all()] == [
        e.kind for e in LeadEvent.objects.filter(lead=lead)
    ]


def test_a_dashboard_period_reads_its_months_of_the_rollup(db):
    partitions.ensure(now=MARCH_2025, ahead=2, back=2)
    start = date(2025, 3, 20)
    shown = plan(ClockDayRollup.objects.filter(day__gte=start, day__lte=start + timedelta(days=29)))
    assert "sla_clockdayrollup_p202503" in shown
    assert "sla_clockdayrollup_p202504" in shown
    for other in ("p202501", "p202502", "p202505", "default"):
        assert f"sla_clockdayrollup_{other}" not in shown


def test_the_outbox_sees_events_of_every_month_and_of_default(org, territories):
    from alignment import webhooks
    from alignment.models import OutboxEvent
    from tests.reliability.webhook_receiver import WebhookReceiver

    partitions.ensure(now=MARCH_2025, ahead=0)
    with WebhookReceiver() as receiver:
        webhooks.endpoint_create(
            by=org["admin"],
            name="CRM",
            url=receiver.url,
            kind="webhook",
            event_types=["lead.ingested"],
        )
        in_month = lead_at(MARCH_2025, org, "P-7")
        in_default = lead_at(datetime(2001, 5, 1, tzinfo=UTC), org, "P-8")
    assert where("leads_leadevent", in_month.events.first().pk) == "leads_leadevent_p202503"
    assert where("leads_leadevent", in_default.events.first().pk) == "leads_leadevent_default"
    assert sorted(OutboxEvent.objects.values_list("lead_id", flat=True)) == sorted(
        [in_month.pk, in_default.pk]
    )


def test_the_command_refuses_a_negative_count_of_months_and_a_retention_of_none(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--ahead"):
        call_command("partitions", "--ahead", "-1", stdout=io.StringIO())
    with pytest.raises(CommandError, match="--older-than"):
        call_command("partitions", "--archive", "--older-than", "0", stdout=io.StringIO())
    assert partitions.months_of("leads_leadevent")  # nothing was archived
