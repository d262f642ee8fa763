"""Agreements in force or superseded, their goals, commitments and pause conditions
are frozen on SQLite too. One definition for both databases (alignment.dbguards)
replaces the PostgreSQL-only triggers of 0006 and 0010."""

from django.db import migrations

from alignment import dbguards

SIGNED = (
    "number",
    "revision",
    "summary",
    "min_acceptance_rate",
    "max_incomplete_rate",
    "escalation_hours",
    "pause_when_away",
    "restart_on_reassign",
)
GUARDS = (
    dbguards.frozen_version("sla_agreement", SIGNED, "agreement"),
    *(
        dbguards.frozen_parts(table, "sla_agreement", "agreement_id", what)
        for table, what in [
            ("sla_salesgoal", "goals"),
            ("sla_teamcommitment", "commitments"),
            ("sla_pausecondition", "pause conditions"),
        ]
    ),
)
LEGACY = (
    "DROP TRIGGER IF EXISTS sla_frozen_commitments ON sla_teamcommitment;",
    "DROP TRIGGER IF EXISTS sla_frozen_goals ON sla_salesgoal;",
    "DROP TRIGGER IF EXISTS sla_frozen_pause_conditions ON sla_pausecondition;",
    "DROP FUNCTION IF EXISTS sla_refuse_frozen_agreement_part_edit();",
    "DROP TRIGGER IF EXISTS sla_frozen_agreement ON sla_agreement;",
    "DROP FUNCTION IF EXISTS sla_refuse_frozen_agreement_edit();",
)


class Migration(migrations.Migration):
    dependencies = [("sla", "0011_signatures_by_two_people")]

    operations = [dbguards.operation(*GUARDS, replaces_postgresql=LEGACY)]
