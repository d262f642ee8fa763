"""The speed panel's day rollup: ClockDayRollup summed over goal and on time, filled
from it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0021_case_day_rollup'),
    ]

    operations = [
        migrations.CreateModel(
            name='SpeedDayRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('team_id', models.IntegerField()),
                ('kind', models.CharField(choices=[('assignment', 'Assign to a rep'), ('accept', 'Accept or reject'), ('first_touch', 'First touch'), ('follow_up', 'Follow-up')], max_length=20)),
                ('owner_id', models.IntegerField()),
                ('bucket', models.SmallIntegerField()),
                ('n', models.IntegerField()),
            ],
            options={
                'indexes': [models.Index(fields=['day', 'team_id'], include=('kind', 'owner_id', 'bucket', 'n'), name='sla_speed_rollup_read')],
                'constraints': [models.UniqueConstraint(fields=('day', 'team_id', 'kind', 'owner_id', 'bucket'), name='sla_speed_rollup_key')],
            },
        ),
        migrations.RunSQL(
            "INSERT INTO sla_speeddayrollup (day, team_id, kind, owner_id, bucket, n) "
            "SELECT day, team_id, kind, owner_id, bucket, SUM(n) FROM sla_clockdayrollup "
            "GROUP BY day, team_id, kind, owner_id, bucket",
            migrations.RunSQL.noop,
        ),
    ]
