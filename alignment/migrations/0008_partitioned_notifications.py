"""Notifications partitioned by month of created_at on PostgreSQL (alignment.partitions);
(recipient, key) stays unique through alignment_notificationkey. SQLite: unchanged."""

from django.db import migrations

from alignment import partitions


def forward(apps, schema_editor):
    partitions.convert(schema_editor, "alignment_notification")
    partitions.notification_key_install(schema_editor)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    partitions.notification_key_uninstall(schema_editor)
    partitions.unconvert(schema_editor, "alignment_notification")
    schema_editor.execute(
        "ALTER TABLE alignment_notification ADD CONSTRAINT notification_once_per_event "
        "UNIQUE (recipient_id, key)"
    )


class Migration(migrations.Migration):
    dependencies = [("alignment", "0007_merge_guards_webhooks_routing_time_zone")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
