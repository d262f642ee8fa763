"""The attainment panels' day rollup of clocks met on time (ClockDayRollup's on-time
rows summed over the bucket), filled from it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0023_open_breach_count'),
    ]

    operations = [
        migrations.CreateModel(
            name='OnTimeDayRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('team_id', models.IntegerField()),
                ('owner_id', models.IntegerField()),
                ('kind', models.CharField(choices=[('assignment', 'Assign to a rep'), ('accept', 'Accept or reject'), ('first_touch', 'First touch'), ('follow_up', 'Follow-up')], max_length=20)),
                ('n', models.IntegerField()),
                ('goal', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='sla.salesgoal')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('day', 'team_id', 'owner_id', 'goal', 'kind'), name='sla_on_time_rollup_key')],
            },
        ),
        migrations.RunSQL(
            "INSERT INTO sla_ontimedayrollup (day, team_id, owner_id, goal_id, kind, n) "
            "SELECT day, team_id, owner_id, goal_id, kind, SUM(n) FROM sla_clockdayrollup "
            "WHERE on_time GROUP BY day, team_id, owner_id, goal_id, kind",
            migrations.RunSQL.noop,
        ),
    ]
