"""Co-signing, issues 9 and 14, in one step:

- four eyes: one person never signs one version twice (a unique (version, signer));
- which rejection reasons apply, and which need a note, are part of each signed
  definition version; the one-click "retire" flag goes. Every existing version keeps
  the reasons it lists and is given the notes its reasons asked for until now, so
  nothing a rep sees changes at the migration; a reason retired but still listed by a
  version in force applies again (retiring alone was the defect);
- the frozen-version guards of definitions, their rules and reasons, from
  alignment.dbguards on PostgreSQL and SQLite alike (replacing 0002's PostgreSQL-only
  triggers);
- the message platform, the third co-signed document, frozen once agreed.
"""

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

from alignment import dbguards

def fill_notes(apps, schema_editor):
    DefinitionVersion = apps.get_model("glossary", "DefinitionVersion")
    for version in DefinitionVersion.objects.prefetch_related("rejection_reasons"):
        codes = sorted(r.code for r in version.rejection_reasons.all() if r.requires_note)
        if codes:
            DefinitionVersion.objects.filter(pk=version.pk).update(notes_required=codes)


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
    dependencies = [
        ("glossary", "0002_frozen_versions_trigger"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='signature',
            constraint=models.UniqueConstraint(fields=('version', 'signed_by'), name='glossary_signatures_by_two_people'),
        ),
        migrations.AddField(
            model_name="definitionversion",
            name="notes_required",
            field=models.JSONField(
                blank=True, default=list, help_text="Codes of the listed reasons that need a note."
            ),
        ),
        migrations.RunPython(fill_notes, migrations.RunPython.noop),
        migrations.RemoveField(model_name="rejectionreason", name="is_active"),
        migrations.AlterField(
            model_name="rejectionreason",
            name="requires_note",
            field=models.BooleanField(
                default=False,
                help_text="Suggested when a draft lists this reason; the definition in force "
                "decides.",
            ),
        ),
        dbguards.operation(*GUARDS, replaces_postgresql=LEGACY),
        migrations.CreateModel(
            name="MessagePlatform",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("proposed", "Proposed"),
                            ("agreed", "In force"),
                            ("superseded", "Superseded"),
                        ],
                        default="draft",
                        max_length=20,
                    ),
                ),
                ("revision", models.PositiveIntegerField(default=1)),
                ("created_at", models.DateTimeField()),
                ("updated_at", models.DateTimeField()),
                ("proposed_at", models.DateTimeField(blank=True, null=True)),
                ("agreed_at", models.DateTimeField(blank=True, null=True)),
                ("superseded_at", models.DateTimeField(blank=True, null=True)),
                ("number", models.PositiveIntegerField(unique=True)),
                (
                    "summary",
                    models.CharField(
                        blank=True, help_text="What changes, in a line.", max_length=200
                    ),
                ),
                ("value_proposition", models.TextField(blank=True)),
                (
                    "based_on",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="glossary.messageplatform",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-number"],
            },
        ),
        migrations.CreateModel(
            name="MessageEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("created", "Drafted"),
                            ("edited", "Edited"),
                            ("proposed", "Proposed for signature"),
                            ("signed", "Signed"),
                            ("sent_back", "Sent back"),
                            ("agreed", "Came into force"),
                            ("superseded", "Superseded"),
                        ],
                        max_length=20,
                    ),
                ),
                ("at", models.DateTimeField()),
                ("comment", models.TextField(blank=True)),
                ("data", models.JSONField(blank=True, default=dict)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "platform",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="glossary.messageplatform",
                    ),
                ),
            ],
            options={
                "ordering": ["at", "id"],
            },
        ),
        migrations.CreateModel(
            name="MessageSignature",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "side",
                    models.CharField(
                        choices=[("marketing", "Marketing"), ("sales", "Sales")], max_length=20
                    ),
                ),
                ("signed_at", models.DateTimeField()),
                (
                    "revision",
                    models.PositiveIntegerField(
                        help_text="The version's revision that was signed."
                    ),
                ),
                (
                    "platform",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="signatures",
                        to="glossary.messageplatform",
                    ),
                ),
                (
                    "signed_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["signed_at"],
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="PersonaMessages",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField()),
                ("persona", models.CharField(max_length=80)),
                (
                    "description",
                    models.TextField(blank=True, help_text="Who they are, as both sides see them."),
                ),
                ("match_field", models.CharField(blank=True, max_length=100)),
                ("match_values", models.JSONField(blank=True, default=list)),
                ("key_messages", models.TextField()),
                ("differentiators", models.TextField(blank=True)),
                ("proof_points", models.TextField(blank=True)),
                (
                    "platform",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="personas",
                        to="glossary.messageplatform",
                    ),
                ),
            ],
            options={
                "ordering": ["platform", "position"],
            },
        ),
        migrations.AddConstraint(
            model_name="messageplatform",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "agreed")),
                fields=("status",),
                name="glossary_one_message_platform_in_force",
            ),
        ),
        migrations.AddConstraint(
            model_name="messagesignature",
            constraint=models.UniqueConstraint(
                fields=("platform", "side"), name="glossary_message_one_signature_side"
            ),
        ),
        migrations.AddConstraint(
            model_name="messagesignature",
            constraint=models.UniqueConstraint(
                fields=("platform", "signed_by"), name="glossary_message_signatures_by_two_people"
            ),
        ),
        migrations.AddConstraint(
            model_name="personamessages",
            constraint=models.UniqueConstraint(
                fields=("platform", "position"), name="glossary_persona_position"
            ),
        ),
        migrations.AddConstraint(
            model_name="personamessages",
            constraint=models.UniqueConstraint(
                models.F("platform"),
                django.db.models.functions.text.Lower("persona"),
                name="glossary_persona_name_unique",
            ),
        ),
        dbguards.operation(
            dbguards.frozen_version(
                "glossary_messageplatform",
                ("number", "revision", "summary", "value_proposition"),
                "message platform",
            ),
            dbguards.frozen_parts(
                "glossary_personamessages", "glossary_messageplatform", "platform_id", "personas"
            ),
        ),
    ]
