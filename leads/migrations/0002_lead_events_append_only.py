"""LeadEvent is append-only: PostgreSQL refuses any UPDATE or DELETE of a row.

TRUNCATE (used by test flushes, never by the app) is a different statement and
is not refused. SQLite, the local trial database, gets no trigger.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION leads_leadevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'lead events are append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER leads_leadevent_append_only
    BEFORE UPDATE OR DELETE ON leads_leadevent
    FOR EACH ROW EXECUTE FUNCTION leads_leadevent_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS leads_leadevent_append_only ON leads_leadevent;
DROP FUNCTION IF EXISTS leads_leadevent_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_leads_events_campaigns")]

    operations = [migrations.RunPython(forwards, backwards)]
