"""Two branches met here: the assignment clock (sla 0011_assignment_clock) and the day
rollup and the guards of both databases. The rollup counts assignment clocks like any
other kind, and the agreement's `assign_hours` is a signed term, frozen with the rest."""

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
    "assign_hours",
)
BEFORE = SIGNED[:-1]


def _guard(signed):
    return dbguards.frozen_version("sla_agreement", signed, "agreement")


def forwards(apps, schema_editor):
    dbguards.install(schema_editor, _guard(SIGNED))


def backwards(apps, schema_editor):
    dbguards.install(schema_editor, _guard(BEFORE))


class Migration(migrations.Migration):
    dependencies = [("sla", "0012_merge_cosign_rollups_outbox_queue_replays_views")]

    operations = [
        migrations.AlterField(
            model_name="clockdayrollup",
            name="kind",
            field=models.CharField(
                choices=[
                    ("assignment", "Assign to a rep"),
                    ("accept", "Accept or reject"),
                    ("first_touch", "First touch"),
                    ("follow_up", "Follow-up"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
