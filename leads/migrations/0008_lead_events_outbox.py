"""Lead events go out: a trigger writes each to the outbox in its transaction (alignment.outbox)."""

from django.db import migrations

from alignment import outbox

TABLE = "leads_leadevent"


def forwards(apps, schema_editor):
    outbox.install_trigger(
        schema_editor,
        table=TABLE,
        prefix="lead",
        lead="n.lead_id",
        payload={
            "event": "n.id",
            "lead": "n.lead_id",
            "kind": "n.kind",
            "from_stage": "n.from_stage",
            "to_stage": "n.to_stage",
            "actor": "n.actor_id",
            "occurred_at": "n.occurred_at",
            "data": "n.data",
        },
    )


def backwards(apps, schema_editor):
    outbox.drop_trigger(schema_editor, table=TABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0007_lead_attempts_and_pause"),
        ("alignment", "0006_webhook_endpoints_outbox_deliveries"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
