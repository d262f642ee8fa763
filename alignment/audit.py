"""The audit trail of configuration: one row per change, written where the change is made.

Why rows written by the services (zulip's RealmAuditLog) rather than
django-pghistory's triggers: the local default database is SQLite, which
pghistory does not support, and a trigger sees columns, not who acted or why.
Here the service that makes a change knows both; it calls `record` (or wraps
its change in `tracking`) inside its own transaction, so the row exists if and
only if the change does. Admin forms use `AuditedModelAdmin`. New configuration
(routing rules, definition versions) joins with one line: a `record` call, or
the admin mixin. Append-only: triggers refuse UPDATE and DELETE on both databases.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import models

from alignment import clock
from alignment.models import AuditEntry


def _plain(value: Any) -> Any:
    """A value as the trail shows it: JSON-friendly, related rows by name."""
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def snapshot(target: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    return {name: _plain(getattr(target, name)) for name in fields}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for what changed."""
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def record(
    *,
    by,
    action: str,
    target: models.Model,
    changes: dict[str, Any] | None = None,
    note: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    """Write one audit row. Call it inside the transaction that makes the change."""
    actor = by if getattr(by, "pk", None) else None
    return AuditEntry.objects.create(
        at=at or clock.now(),
        actor=actor,
        actor_label=actor.get_username() if actor else "system",
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_label=str(target)[:200],
        changes={k: _plain(v) for k, v in (changes or {}).items()},
        note=note,
    )


@contextmanager
def tracking(
    target: models.Model, fields: Iterable[str], *, by, action: str, note: str = ""
) -> Iterator[None]:
    """Record what the block changed on `target` (nothing when nothing changed)."""
    fields = list(fields)
    before = snapshot(target, fields)
    yield
    changes = diff(before, snapshot(target, fields))
    if changes:
        record(by=by, action=action, target=target, changes=changes, note=note)
