"""Clock and agreement events go out: triggers write each to the outbox in its
transaction, the scan's set-based INSERT included (alignment.outbox)."""

from django.db import migrations

from alignment import outbox

LEAD_NAME = (
    "coalesce(nullif(trim(l.first_name || ' ' || l.last_name), ''), "
    "nullif(l.company, ''), 'Lead ' || l.id)"
)


def forwards(apps, schema_editor):
    outbox.install_trigger(
        schema_editor,
        table="sla_clockevent",
        prefix="clock",
        lead="n.lead_id",
        joins="JOIN sla_clock c ON c.id = n.clock_id JOIN leads_lead l ON l.id = n.lead_id",
        payload={
            "event": "n.id",
            "clock": "n.clock_id",
            "lead": "n.lead_id",
            "lead_name": LEAD_NAME,
            "kind": "n.kind",
            "clock_kind": "c.kind",
            "owner": "c.owner_id",
            "team": "c.team_id",
            "due_at": "c.due_at",
            "actor": "n.actor_id",
            "occurred_at": "n.occurred_at",
            "data": "n.data",
        },
    )
    outbox.install_trigger(
        schema_editor,
        table="sla_agreementevent",
        prefix="agreement",
        lead=None,
        payload={
            "event": "n.id",
            "agreement": "n.agreement_id",
            "kind": "n.kind",
            "actor": "n.actor_id",
            "occurred_at": "n.occurred_at",
            "data": "n.data",
        },
    )


def backwards(apps, schema_editor):
    outbox.drop_trigger(schema_editor, table="sla_clockevent")
    outbox.drop_trigger(schema_editor, table="sla_agreementevent")


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0010_follow_up_clocks_and_pauses"),
        ("leads", "0008_lead_events_outbox"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
