"""A partial covering index for the scoring panel: the summed rows of the scored leads."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0014_lead_stale_in_no_index'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='leaddayrollup',
            index=models.Index(condition=models.Q(('basis', 'created'), ('detail', False)), fields=['day', 'team_id'], include=('version_id', 'score', 'n', 'reached_sql', 'won'), name='leads_rollup_created_summed'),
        ),
    ]
