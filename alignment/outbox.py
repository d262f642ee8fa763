"""The outbox: every lead, clock and agreement event, in the transaction that wrote it.

The apps that own the event tables install a trigger on each (their migrations
call `install_trigger`), so no writer can forget the outbox, not even the SLA
scan's set-based INSERT: on PostgreSQL one statement-level trigger per INSERT
writes the outbox rows and the deliveries to every active endpoint subscribed
to their type, set-based, from the statement's transition table; SQLite gets a
row trigger doing the same. While no endpoint is active the trigger returns at
once, so an installation without webhooks pays one lookup of a tiny table per
statement.

The apps also say what their events are (`register_family`, from their
AppConfig.ready): the catalogue subscriptions are checked against and the
OpenAPI document's `webhooks` section is built from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ENDPOINTS = "alignment_webhookendpoint"


@dataclass(frozen=True)
class Family:
    prefix: str  # "lead": its types are "lead.<kind>"
    description: str
    kinds: dict[str, str]  # kind -> label
    example: dict[str, Any] = field(default_factory=dict)  # "data" of an example event

    def types(self) -> dict[str, str]:
        return {f"{self.prefix}.{kind}": label for kind, label in self.kinds.items()}


_families: dict[str, Family] = {}


def register_family(family: Family) -> None:
    _families[family.prefix] = family


def families() -> list[Family]:
    return list(_families.values())


def event_types() -> dict[str, str]:
    """Every event type an endpoint may subscribe to -> what it means."""
    return {name: label for family in _families.values() for name, label in family.types().items()}


def example(event_type: str) -> dict[str, Any]:
    """The body a receiver gets for an event of this type (with example values)."""
    prefix, kind = event_type.split(".", 1)
    data = {**_families[prefix].example, "kind": kind}
    return {"type": event_type, "timestamp": "2026-03-02T09:30:00+00:00", "data": data}


# --- the triggers -----------------------------------------------------------------------


def install_trigger(
    schema_editor,
    *,
    table: str,
    prefix: str,
    lead: str | None,
    payload: dict[str, str],
    joins: str = "",
    at: str = "n.occurred_at",
) -> None:
    """Write an event table's INSERTs to the outbox. `payload`: JSON key -> SQL
    expression over the new row `n` (and the aliases of `joins`); `lead`: the
    expression of the event's lead id (ordering per lead), or None; `at`: the
    expression of when the event happened."""
    build = _postgresql if schema_editor.connection.vendor == "postgresql" else _sqlite
    sql = build(
        table=table,
        prefix=prefix,
        lead=lead or "NULL::bigint",
        payload=payload,
        joins=joins,
        at=at,
    )
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_outbox" + _on(schema_editor, table))
    schema_editor.execute(sql, params=None)


def drop_trigger(schema_editor, *, table: str) -> None:
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_outbox" + _on(schema_editor, table))
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_outbox()")


def _on(schema_editor, table: str) -> str:
    return f" ON {table}" if schema_editor.connection.vendor == "postgresql" else ""


def _postgresql(*, table, prefix, lead, payload, joins, at) -> str:
    name = f"{table}_outbox"
    pairs = ", ".join(f"'{key}', {expr}" for key, expr in payload.items())
    subscribed = "e.is_active AND jsonb_exists(e.event_types, {})"
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM {ENDPOINTS} WHERE is_active) THEN
        RETURN NULL;
    END IF;
    WITH src AS (
        SELECT '{prefix}.' || n.kind AS event_type, {lead} AS lead_id, {at} AS occurred_at,
               jsonb_build_object({pairs}) AS payload, n.id AS source_id
        FROM new_rows n {joins}
    ), written AS (
        INSERT INTO alignment_outboxevent (event_type, lead_id, occurred_at, payload)
        SELECT s.event_type, s.lead_id, s.occurred_at, s.payload FROM src s
        WHERE EXISTS (
            SELECT 1 FROM {ENDPOINTS} e WHERE {subscribed.format("s.event_type")}
        )
        ORDER BY s.source_id
        RETURNING id, event_type, lead_id
    )
    INSERT INTO alignment_webhookdelivery (endpoint_id, event_id, lead_key, state, attempts,
                                           last_error)
    SELECT e.id, w.id, coalesce(w.lead_id, 0), 'pending', 0, ''
    FROM written w JOIN {ENDPOINTS} e ON {subscribed.format("w.event_type")};
    RETURN NULL;
END;
$$;
CREATE TRIGGER {name} AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();
"""  # noqa: S608 - names and expressions from the migrations, no input


def _sqlite(*, table, prefix, lead, payload, joins, at) -> str:
    name = f"{table}_outbox"
    lead = lead.removesuffix("::bigint")
    pairs = ", ".join(
        f"'{key}', json({expr})" if key == "data" else f"'{key}', {expr}"
        for key, expr in payload.items()
    )
    subscribed = (
        "e.is_active AND EXISTS (SELECT 1 FROM json_each(e.event_types) j WHERE j.value = {})"
    )
    return f"""
CREATE TRIGGER {name} AFTER INSERT ON {table}
WHEN EXISTS (SELECT 1 FROM {ENDPOINTS} e WHERE {subscribed.format(f"'{prefix}.' || NEW.kind")})
BEGIN
    INSERT INTO alignment_outboxevent (event_type, lead_id, occurred_at, payload)
    SELECT '{prefix}.' || n.kind, {lead}, {at}, json_object({pairs})
    FROM {table} n {joins} WHERE n.id = NEW.id;
    INSERT INTO alignment_webhookdelivery (endpoint_id, event_id, lead_key, state, attempts,
                                           last_error)
    SELECT e.id, o.id, coalesce(o.lead_id, 0), 'pending', 0, ''
    FROM alignment_outboxevent o JOIN {ENDPOINTS} e ON {subscribed.format("o.event_type")}
    WHERE o.id = last_insert_rowid();
END;
"""  # noqa: S608 - names and expressions from the migrations, no input
