"""Lead events are append-only on SQLite too: the guard comes from alignment.dbguards,
one definition for PostgreSQL and SQLite."""

from django.db import migrations

from alignment import dbguards


class Migration(migrations.Migration):
    dependencies = [("leads", "0007_lead_attempts_and_pause")]

    operations = [dbguards.operation(dbguards.append_only("leads_leadevent", "lead events"))]
