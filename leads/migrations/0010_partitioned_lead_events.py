"""Lead events partitioned by month of occurred_at on PostgreSQL (alignment.partitions),
keeping the append-only guard and the outbox trigger on every month. SQLite: unchanged."""

from django.db import migrations

from alignment import partitions


def forward(apps, schema_editor):
    partitions.convert(schema_editor, "leads_leadevent")


def backward(apps, schema_editor):
    partitions.unconvert(schema_editor, "leads_leadevent")


class Migration(migrations.Migration):
    dependencies = [("leads", "0009_merge_guards_outbox_routing_indexes_campaigns")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
