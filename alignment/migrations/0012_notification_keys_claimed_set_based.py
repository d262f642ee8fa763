"""The notification trigger lets through rows whose keys alignment.notifications has
claimed itself, set-based (one INSERT … RETURNING for a batch, not one per row)."""

from django.db import migrations

from alignment import partitions


def forwards(apps, schema_editor):
    partitions.notification_key_claims(schema_editor, claims=True)


def backwards(apps, schema_editor):
    partitions.notification_key_claims(schema_editor, claims=False)


class Migration(migrations.Migration):
    dependencies = [("alignment", "0011_notification_recipient_no_own_index")]

    operations = [migrations.RunPython(forwards, backwards)]
