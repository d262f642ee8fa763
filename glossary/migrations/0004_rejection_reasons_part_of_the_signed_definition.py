"""Which rejection reasons apply, and which need a note, become part of each signed
definition version; the one-click "retire" flag on the catalogue goes.

Every existing version keeps the reasons it lists and is given the notes its reasons
asked for until now, so nothing a rep sees changes at the migration. A reason that
had been retired but is still listed by a version in force applies again: retiring
alone was the defect (issue 9, defect 3); a new version both sides sign retires it.
"""

from django.db import migrations, models


def fill_notes(apps, schema_editor):
    DefinitionVersion = apps.get_model("glossary", "DefinitionVersion")
    for version in DefinitionVersion.objects.prefetch_related("rejection_reasons"):
        codes = sorted(r.code for r in version.rejection_reasons.all() if r.requires_note)
        if codes:
            DefinitionVersion.objects.filter(pk=version.pk).update(notes_required=codes)


class Migration(migrations.Migration):
    dependencies = [("glossary", "0003_signatures_by_two_people")]

    operations = [
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
    ]
