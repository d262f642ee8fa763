"""Clock events (by month of occurred_at) and the day rollup (by month of day) partitioned
on PostgreSQL (alignment.partitions), their outbox trigger and rollup key kept. SQLite:
unchanged."""

from django.db import migrations

from alignment import partitions

TABLES = ("sla_clockevent", "sla_clockdayrollup")


def forward(apps, schema_editor):
    for table in TABLES:
        partitions.convert(schema_editor, table)


def backward(apps, schema_editor):
    for table in TABLES:
        partitions.unconvert(schema_editor, table)


class Migration(migrations.Migration):
    dependencies = [("sla", "0013_assignment_clock_signed_and_rolled_up")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
