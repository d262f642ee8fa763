"""Agreement events take the shape every co-signed document's history has
(alignment.documents.CosignedEvent): `occurred_at` is `at`, a send-back's comment
moves out of `data` into its own column, and the kind has the shared choices.

The outbox trigger of 0011 names the columns in SQL, so it is dropped before the
rename and written again after it; a webhook still receives the same payload
(`occurred_at`, and the comment inside `data`)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from alignment import outbox

TABLE = "sla_agreementevent"


def _payload(*, at: str, data: str) -> dict[str, str]:
    return {
        "event": "n.id",
        "agreement": "n.agreement_id",
        "kind": "n.kind",
        "actor": "n.actor_id",
        "occurred_at": at,
        "data": data,
    }


def drop_trigger(apps, schema_editor):
    outbox.drop_trigger(schema_editor, table=TABLE)


def install_0011_trigger(apps, schema_editor):
    payload = _payload(at="n.occurred_at", data="n.data")
    outbox.install_trigger(schema_editor, table=TABLE, prefix="agreement", lead=None, payload=payload)


def install_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        merged = "jsonb_build_object('comment', n.comment) || n.data"
    else:
        merged = "json_patch(json_object('comment', n.comment), n.data)"
    data = f"CASE WHEN n.comment = '' THEN n.data ELSE {merged} END"
    outbox.install_trigger(
        schema_editor,
        table=TABLE,
        prefix="agreement",
        lead=None,
        payload=_payload(at="n.at", data=data),
        at="n.at",
    )


def comments_out_of_data(apps, schema_editor):
    # Few rows (one per send-back), so they are read and written back in one batch.
    AgreementEvent = apps.get_model("sla", "AgreementEvent")
    events = list(AgreementEvent.objects.filter(kind="sent_back", data__has_key="comment"))
    for event in events:
        event.comment = event.data.pop("comment") or ""
    AgreementEvent.objects.bulk_update(events, ["comment", "data"])


def comments_into_data(apps, schema_editor):
    AgreementEvent = apps.get_model("sla", "AgreementEvent")
    events = list(AgreementEvent.objects.exclude(comment=""))
    for event in events:
        event.data = {"comment": event.comment, **event.data}
    AgreementEvent.objects.bulk_update(events, ["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0016_agreement_clock_calendar_signed"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_trigger, install_0011_trigger),
        migrations.AlterModelOptions(
            name="agreementevent",
            options={"ordering": ["at", "id"]},
        ),
        migrations.RenameField(
            model_name="agreementevent",
            old_name="occurred_at",
            new_name="at",
        ),
        migrations.AddField(
            model_name="agreementevent",
            name="comment",
            field=models.TextField(blank=True),
        ),
        migrations.AlterField(
            model_name="agreementevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="agreementevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("created", "Drafted"),
                    ("edited", "Edited"),
                    ("proposed", "Proposed for signature"),
                    ("signed", "Signed"),
                    ("sent_back", "Sent back"),
                    ("agreed", "Came into force"),
                    ("superseded", "Superseded"),
                    ("draft_discarded", "A draft based on it was discarded"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(comments_out_of_data, comments_into_data),
        migrations.RunPython(install_trigger, drop_trigger),
    ]
