"""Agreed and superseded definition versions, their rules and their rejection reasons
are frozen on SQLite too. One definition for both databases (alignment.dbguards)
replaces 0002's PostgreSQL-only triggers; the signed columns now include which
reasons need a note, and the reasons a version lists are frozen with it."""

from django.db import migrations

from alignment import dbguards

SIGNED = (
    "threshold",
    "required_fields",
    "notes_required",
    "summary",
    "good_lead",
    "not_a_lead",
    "handling",
    "revision",
    "stage_id",
    "number",
)
GUARDS = (
    dbguards.frozen_version("glossary_definitionversion", SIGNED, "definition version"),
    dbguards.frozen_parts(
        "glossary_scoringrule", "glossary_definitionversion", "version_id", "rules"
    ),
    dbguards.frozen_parts(
        "glossary_definitionversion_rejection_reasons",
        "glossary_definitionversion",
        "definitionversion_id",
        "rejection reasons",
    ),
)
LEGACY = (
    "DROP TRIGGER IF EXISTS glossary_frozen_rules ON glossary_scoringrule;",
    "DROP FUNCTION IF EXISTS glossary_refuse_frozen_rule_edit();",
    "DROP TRIGGER IF EXISTS glossary_frozen_version ON glossary_definitionversion;",
    "DROP FUNCTION IF EXISTS glossary_refuse_frozen_version_edit();",
)


class Migration(migrations.Migration):
    dependencies = [("glossary", "0004_rejection_reasons_part_of_the_signed_definition")]

    operations = [dbguards.operation(*GUARDS, replaces_postgresql=LEGACY)]
