"""Open breaches now, per team, rep and kind (OpenBreachCount), kept by PostgreSQL:
three statement triggers on sla_clock (insert, update, delete; a trigger with
transition tables takes one event) add what each statement made an open breach
and take away what it stopped being one (resolved, reassigned to another rep or
team, deleted), in one upsert per statement in key order, so two writers lock
the rows in the same order. Filled from the clocks there are, with the clocks
locked so none is counted twice or missed. SQLite keeps no triggers: there the
panels count the clocks.
"""

from django.db import migrations, models

OPEN = "state = 'breached' AND resolved_at IS NULL"
KEY = "COALESCE(team_id, 0), COALESCE(owner_id, 0), kind"

ADDED = f"SELECT {KEY}, 1 FROM sla_new_clocks WHERE {OPEN}"
TAKEN = f"SELECT {KEY}, -1 FROM sla_old_clocks WHERE {OPEN}"


def _add(changed: str) -> str:
    """Add the changed rows' +1 and -1 to their keys, in key order."""
    return f"""
    INSERT INTO sla_openbreachcount (team_id, owner_id, kind, n)
    SELECT team_id, owner_id, kind, SUM(d) FROM ({changed}) AS changed (team_id, owner_id, kind, d)
    GROUP BY 1, 2, 3 HAVING SUM(d) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (team_id, owner_id, kind) DO UPDATE SET n = sla_openbreachcount.n + excluded.n;
    """


# Each branch names only the transition tables its trigger has.
CREATE = f"""
CREATE OR REPLACE FUNCTION sla_count_open_breaches() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN {_add(ADDED)}
  ELSIF TG_OP = 'DELETE' THEN {_add(TAKEN)}
  ELSE {_add(f"{ADDED} UNION ALL {TAKEN}")}
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

TRIGGERS = {
    "INSERT": "NEW TABLE AS sla_new_clocks",
    "UPDATE": "OLD TABLE AS sla_old_clocks NEW TABLE AS sla_new_clocks",
    "DELETE": "OLD TABLE AS sla_old_clocks",
}

FILL = f"""
LOCK TABLE sla_clock IN SHARE ROW EXCLUSIVE MODE;
DELETE FROM sla_openbreachcount;
INSERT INTO sla_openbreachcount (team_id, owner_id, kind, n)
SELECT {KEY}, COUNT(*) FROM sla_clock WHERE {OPEN} GROUP BY 1, 2, 3;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(CREATE)
        for event, tables in TRIGGERS.items():
            cursor.execute(
                f"CREATE TRIGGER sla_open_breaches_{event.lower()} AFTER {event} ON sla_clock "
                f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION sla_count_open_breaches()"
            )
        cursor.execute(FILL)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for event in TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS sla_open_breaches_{event.lower()} ON sla_clock")
        cursor.execute("DROP FUNCTION IF EXISTS sla_count_open_breaches()")


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0022_speed_day_rollup'),
    ]

    operations = [
        migrations.CreateModel(
            name='OpenBreachCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('team_id', models.IntegerField()),
                ('owner_id', models.IntegerField()),
                ('kind', models.CharField(choices=[('assignment', 'Assign to a rep'), ('accept', 'Accept or reject'), ('first_touch', 'First touch'), ('follow_up', 'Follow-up')], max_length=20)),
                ('n', models.IntegerField()),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('team_id', 'owner_id', 'kind'), name='sla_open_breach_count_key')],
            },
        ),
        migrations.RunPython(create, drop),
    ]
