"""The agreement says whose hours a rep's clocks run on (the team's calendar, or the
rep's own working hours in their zone); a signed term, frozen with the rest."""

from django.db import migrations, models

from alignment import dbguards

BEFORE = (
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
SIGNED = (*BEFORE, "clock_calendar")


def _guard(signed):
    return dbguards.frozen_version("sla_agreement", signed, "agreement")


def forwards(apps, schema_editor):
    dbguards.install(schema_editor, _guard(SIGNED))


def backwards(apps, schema_editor):
    dbguards.install(schema_editor, _guard(BEFORE))


class Migration(migrations.Migration):
    dependencies = [("sla", "0015_merge_breach_rollup_partitions")]

    operations = [
        migrations.AddField(
            model_name="agreement",
            name="clock_calendar",
            field=models.CharField(
                choices=[
                    ("team", "The team's business calendar"),
                    ("rep", "The rep's own working hours"),
                ],
                default="team",
                help_text="What a rep's clocks (accept, first touch, follow-up) count business "
                "time on.",
                max_length=10,
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
