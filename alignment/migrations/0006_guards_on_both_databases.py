"""The audit trail's append-only guard from alignment.dbguards, the same on PostgreSQL
and SQLite (SQLite refused UPDATE only; now DELETE too)."""

from django.db import migrations

from alignment import dbguards


class Migration(migrations.Migration):
    dependencies = [("alignment", "0005_notification_attempts_and_failures")]

    operations = [dbguards.operation(dbguards.append_only("alignment_auditentry", "audit entries"))]
