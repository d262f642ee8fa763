"""The decisions panel's day rollup of arbiter cases, and the team each case counts
for (its lead's when it opened; the cases open today take their lead's team now),
both filled from the cases there are."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import TruncDate


def fill(apps, schema_editor):
    from datetime import UTC

    ArbiterCase = apps.get_model("sla", "ArbiterCase")
    CaseDayRollup = apps.get_model("sla", "CaseDayRollup")
    Lead = apps.get_model("leads", "Lead")
    ArbiterCase.objects.filter(team__isnull=True).update(
        team_id=Subquery(Lead.objects.filter(pk=OuterRef("lead_id")).values("team_id")[:1])
    )
    cells = {}
    for row in (
        ArbiterCase.objects.annotate(day=TruncDate("opened_at", tzinfo=UTC))
        .values("day", "team_id", "kind")
        .annotate(n=Count("*"), still_open=Count("id", filter=models.Q(decided_at__isnull=True)))
        .order_by()
    ):
        key = (row["day"], row["team_id"] or 0, row["kind"], "", "")
        cells[key] = {"opened": row["n"], "still_open": row["still_open"], "decided": 0}
    for row in (
        ArbiterCase.objects.filter(decided_at__isnull=False)
        .annotate(day=TruncDate("decided_at", tzinfo=UTC))
        .values("day", "team_id", "kind", "decision", "against_side")
        .annotate(n=Count("*"))
        .order_by()
    ):
        key = (row["day"], row["team_id"] or 0, row["kind"], row["decision"], row["against_side"])
        cell = cells.setdefault(key, {"opened": 0, "still_open": 0, "decided": 0})
        cell["decided"] += row["n"]
    CaseDayRollup.objects.bulk_create(
        CaseDayRollup(
            day=day, team_id=team, kind=kind, decision=decision, against_side=side, **counts
        )
        for (day, team, kind, decision, side), counts in cells.items()
    )


class Migration(migrations.Migration):

    dependencies = [
        ('alignment', '0012_notification_keys_claimed_set_based'),
        ('sla', '0020_open_breach_order_includes_lead'),
    ]

    operations = [
        migrations.AddField(
            model_name='arbitercase',
            name='team',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='alignment.team'),
        ),
        migrations.CreateModel(
            name='CaseDayRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('team_id', models.IntegerField()),
                ('kind', models.CharField(choices=[('escalation', 'Escalated breach'), ('dispute', 'Disputed rejection')], max_length=20)),
                ('decision', models.CharField(blank=True, choices=[('reassign', 'Reassign to another rep'), ('extend', 'Extend the deadline once'), ('return', 'Return the lead to marketing'), ('close_no_decision', 'Close as no decision'), ('uphold', 'Uphold the rejection'), ('overturn', 'Overturn the rejection'), ('worked', 'Closed: the lead was worked before a decision')], max_length=30)),
                ('against_side', models.CharField(blank=True, max_length=20)),
                ('opened', models.IntegerField(default=0)),
                ('still_open', models.IntegerField(default=0)),
                ('decided', models.IntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('day', 'team_id', 'kind', 'decision', 'against_side'), name='sla_case_rollup_key')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
