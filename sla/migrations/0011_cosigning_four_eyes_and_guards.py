"""Co-signing, issue 9: four eyes (one person never signs one agreement twice) and
the frozen-agreement guards of alignment.dbguards on PostgreSQL and SQLite alike
(replacing the PostgreSQL-only triggers of 0006 and 0010). The signature's revision
help text is alignment.documents.CosignedSignature's (state only)."""

from django.conf import settings
from django.db import migrations, models

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
    dependencies = [
        ("sla", "0010_follow_up_clocks_and_pauses"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='agreementsignature',
            constraint=models.UniqueConstraint(fields=('agreement', 'signed_by'), name='sla_signatures_by_two_people'),
        ),
        # State only: the signature's fields are alignment.documents.CosignedSignature's now.
        migrations.AlterField(
            model_name='agreementsignature',
            name='revision',
            field=models.PositiveIntegerField(help_text="The version's revision that was signed."),
        ),
        dbguards.operation(*GUARDS, replaces_postgresql=LEGACY),
    ]
