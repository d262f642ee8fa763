"""PostgreSQL refuses any edit of an agreed or superseded version and of its rules.

Services already refuse; this is the last line against a stray UPDATE (a shell,
a future bug). SQLite (the local trial default) relies on the services alone.
ERRCODE 23514 (check_violation) reaches Django as an IntegrityError.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION glossary_refuse_frozen_version_edit() RETURNS trigger AS $$
BEGIN
  IF OLD.status IN ('agreed', 'superseded') AND (
       NEW.threshold IS DISTINCT FROM OLD.threshold
    OR NEW.required_fields IS DISTINCT FROM OLD.required_fields
    OR NEW.summary IS DISTINCT FROM OLD.summary
    OR NEW.good_lead IS DISTINCT FROM OLD.good_lead
    OR NEW.not_a_lead IS DISTINCT FROM OLD.not_a_lead
    OR NEW.handling IS DISTINCT FROM OLD.handling
    OR NEW.revision IS DISTINCT FROM OLD.revision
    OR NEW.stage_id IS DISTINCT FROM OLD.stage_id
    OR NEW.number IS DISTINCT FROM OLD.number
    OR (OLD.status = 'superseded' AND NEW.status <> 'superseded')
    OR (OLD.status = 'agreed' AND NEW.status NOT IN ('agreed', 'superseded'))
  ) THEN
    RAISE EXCEPTION 'definition version % is % and can never be edited', OLD.id, OLD.status
      USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER glossary_frozen_version
  BEFORE UPDATE ON glossary_definitionversion
  FOR EACH ROW EXECUTE FUNCTION glossary_refuse_frozen_version_edit();

CREATE OR REPLACE FUNCTION glossary_refuse_frozen_rule_edit() RETURNS trigger AS $$
DECLARE
  version_status text;
BEGIN
  SELECT status INTO version_status FROM glossary_definitionversion
    WHERE id = COALESCE(NEW.version_id, OLD.version_id);
  IF version_status IN ('agreed', 'superseded') THEN
    RAISE EXCEPTION 'rules of definition version % (%) can never be edited',
      COALESCE(NEW.version_id, OLD.version_id), version_status
      USING ERRCODE = '23514';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER glossary_frozen_rules
  BEFORE INSERT OR UPDATE OR DELETE ON glossary_scoringrule
  FOR EACH ROW EXECUTE FUNCTION glossary_refuse_frozen_rule_edit();
"""

DROP = """
DROP TRIGGER IF EXISTS glossary_frozen_rules ON glossary_scoringrule;
DROP FUNCTION IF EXISTS glossary_refuse_frozen_rule_edit();
DROP TRIGGER IF EXISTS glossary_frozen_version ON glossary_definitionversion;
DROP FUNCTION IF EXISTS glossary_refuse_frozen_version_edit();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # A plain cursor: no parameter interpolation of the % in RAISE.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("glossary", "0001_lexicon_and_versioned_definitions")]

    operations = [migrations.RunPython(create, drop)]
