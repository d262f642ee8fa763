"""Follow-up clocks, the stages a goal's follow-up applies in, the pause conditions an
agreement names (frozen with the agreement, as its goals are) and the pauses reps set.
"""

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


FREEZE = """
CREATE TRIGGER sla_frozen_pause_conditions
  BEFORE INSERT OR UPDATE OR DELETE ON sla_pausecondition
  FOR EACH ROW EXECUTE FUNCTION sla_refuse_frozen_agreement_part_edit();
"""


def freeze(apps, schema_editor):
    # The conditions of an agreement in force or superseded can never change (0006).
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FREEZE)


def thaw(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "DROP TRIGGER IF EXISTS sla_frozen_pause_conditions ON sla_pausecondition"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("alignment", "0005_notification_attempts_and_failures"),
        ("leads", "0007_lead_attempts_and_pause"),
        ("sla", "0009_scan_holds"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PauseCondition",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField()),
                (
                    "label",
                    models.CharField(help_text="e.g. Waiting on the prospect.", max_length=100),
                ),
                (
                    "max_days",
                    models.PositiveSmallIntegerField(
                        help_text="The longest such a pause holds the clocks, in business days."
                    ),
                ),
            ],
            options={
                "ordering": ["agreement", "position"],
            },
        ),
        migrations.AddField(
            model_name="clock",
            name="resume_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="salesgoal",
            name="followup_through",
            field=models.CharField(
                choices=[("sal", "SAL"), ("sql", "SQL"), ("opportunity", "Opportunity")],
                default="opportunity",
                help_text="The last stage the cadence and the attempts' pace apply in: a lead qualified beyond it has no follow-up clock.",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="clock",
            name="kind",
            field=models.CharField(
                choices=[
                    ("accept", "Accept or reject"),
                    ("first_touch", "First touch"),
                    ("follow_up", "Follow-up"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="clockduration",
            name="kind",
            field=models.CharField(
                choices=[
                    ("accept", "Accept or reject"),
                    ("first_touch", "First touch"),
                    ("follow_up", "Follow-up"),
                ],
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="Pause",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reason", models.CharField(help_text="The condition's words.", max_length=100)),
                ("note", models.TextField()),
                ("started_at", models.DateTimeField()),
                ("ends_at", models.DateTimeField(help_text="The agreed maximum.")),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                (
                    "end_reason",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("touch", "Ended by a touch"),
                            ("maximum", "Its maximum was reached"),
                            ("closed", "The lead was closed or returned"),
                            ("reassigned", "The lead was reassigned"),
                            ("nothing_held", "No deadline was left to hold"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "held_seconds",
                    models.PositiveIntegerField(
                        blank=True,
                        help_text="Business time it held the clocks, once ended.",
                        null=True,
                    ),
                ),
                (
                    "ended_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "lead",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="leads.lead",
                    ),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "set_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="alignment.team",
                    ),
                ),
            ],
            options={
                "ordering": ["-started_at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="clock",
            name="paused_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="clocks",
                to="sla.pause",
            ),
        ),
        migrations.AddIndex(
            model_name="clock",
            index=models.Index(
                condition=models.Q(("resume_at__isnull", False), ("state", "paused")),
                fields=["resume_at"],
                name="sla_clock_resume_due",
            ),
        ),
        migrations.AddField(
            model_name="pausecondition",
            name="agreement",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="pause_conditions",
                to="sla.agreement",
            ),
        ),
        migrations.AddField(
            model_name="pause",
            name="condition",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="sla.pausecondition",
            ),
        ),
        migrations.AddConstraint(
            model_name="pausecondition",
            constraint=models.UniqueConstraint(
                fields=("agreement", "position"), name="sla_pause_condition_position"
            ),
        ),
        migrations.AddConstraint(
            model_name="pausecondition",
            constraint=models.UniqueConstraint(
                models.F("agreement"),
                django.db.models.functions.text.Lower("label"),
                name="sla_pause_condition_label_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="pausecondition",
            constraint=models.CheckConstraint(
                condition=models.Q(("max_days__gte", 1), ("max_days__lte", 60)),
                name="sla_pause_condition_max_1_to_60",
            ),
        ),
        migrations.AddIndex(
            model_name="pause",
            index=models.Index(fields=["team", "started_at"], name="sla_pause_team_started"),
        ),
        migrations.AddIndex(
            model_name="pause",
            index=models.Index(
                condition=models.Q(("ended_at__isnull", True)),
                fields=["team", "started_at"],
                name="sla_pause_open",
            ),
        ),
        migrations.AddConstraint(
            model_name="pause",
            constraint=models.UniqueConstraint(
                condition=models.Q(("ended_at__isnull", True)),
                fields=("lead",),
                name="sla_one_open_pause",
            ),
        ),
        migrations.AddConstraint(
            model_name="pause",
            constraint=models.CheckConstraint(
                condition=models.Q(("ends_at__gt", models.F("started_at"))),
                name="sla_pause_ends_after_start",
            ),
        ),
        migrations.RunPython(freeze, thaw),
    ]
