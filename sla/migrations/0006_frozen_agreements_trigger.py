"""PostgreSQL refuses any edit of an agreement in force or superseded, and of its
goals and commitments (as the glossary does for definitions).

The services already refuse; this is the last line against a stray UPDATE.
Clocks keep pointing at the goals they ran under, so "the rules changed" is
never a mystery later. ERRCODE 23514 reaches Django as an IntegrityError.
SQLite (the local trial default) relies on the services alone.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION sla_refuse_frozen_agreement_edit() RETURNS trigger AS $$
BEGIN
  IF OLD.status IN ('agreed', 'superseded') AND (
       NEW.number IS DISTINCT FROM OLD.number
    OR NEW.revision IS DISTINCT FROM OLD.revision
    OR NEW.summary IS DISTINCT FROM OLD.summary
    OR NEW.min_acceptance_rate IS DISTINCT FROM OLD.min_acceptance_rate
    OR NEW.max_incomplete_rate IS DISTINCT FROM OLD.max_incomplete_rate
    OR NEW.escalation_hours IS DISTINCT FROM OLD.escalation_hours
    OR NEW.pause_when_away IS DISTINCT FROM OLD.pause_when_away
    OR NEW.restart_on_reassign IS DISTINCT FROM OLD.restart_on_reassign
    OR (OLD.status = 'superseded' AND NEW.status <> 'superseded')
    OR (OLD.status = 'agreed' AND NEW.status NOT IN ('agreed', 'superseded'))
  ) THEN
    RAISE EXCEPTION 'agreement % is % and can never be edited', OLD.id, OLD.status
      USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sla_frozen_agreement
  BEFORE UPDATE ON sla_agreement
  FOR EACH ROW EXECUTE FUNCTION sla_refuse_frozen_agreement_edit();

CREATE OR REPLACE FUNCTION sla_refuse_frozen_agreement_part_edit() RETURNS trigger AS $$
DECLARE
  agreement_status text;
BEGIN
  SELECT status INTO agreement_status FROM sla_agreement
    WHERE id = COALESCE(NEW.agreement_id, OLD.agreement_id);
  IF agreement_status IN ('agreed', 'superseded') THEN
    RAISE EXCEPTION '% of agreement % (%) can never be edited', TG_TABLE_NAME,
      COALESCE(NEW.agreement_id, OLD.agreement_id), agreement_status
      USING ERRCODE = '23514';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sla_frozen_goals
  BEFORE INSERT OR UPDATE OR DELETE ON sla_salesgoal
  FOR EACH ROW EXECUTE FUNCTION sla_refuse_frozen_agreement_part_edit();
CREATE TRIGGER sla_frozen_commitments
  BEFORE INSERT OR UPDATE OR DELETE ON sla_teamcommitment
  FOR EACH ROW EXECUTE FUNCTION sla_refuse_frozen_agreement_part_edit();
"""

DROP = """
DROP TRIGGER IF EXISTS sla_frozen_commitments ON sla_teamcommitment;
DROP TRIGGER IF EXISTS sla_frozen_goals ON sla_salesgoal;
DROP FUNCTION IF EXISTS sla_refuse_frozen_agreement_part_edit();
DROP TRIGGER IF EXISTS sla_frozen_agreement ON sla_agreement;
DROP FUNCTION IF EXISTS sla_refuse_frozen_agreement_edit();
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
    dependencies = [("sla", "0005_open_breaches_index")]

    operations = [migrations.RunPython(create, drop)]
