"""Many rows in one statement, without building a model instance per row.

`insert_rows` writes rows given as tuples: on PostgreSQL one `INSERT … SELECT *
FROM unnest(…)` with one array per column, whatever the number of rows (so
neither the SQL nor its planning grows with the batch); elsewhere (SQLite, the
local default) `bulk_create`. The SLA scan writes thousands of events and
notifications a batch, and building and preparing a model instance for each
cost it more than the statements themselves; a bulk ingest of a thousand
leads, likewise (a multi-row VALUES of 36,000 literals cost PostgreSQL more
to parse than to store, and bulk_create as much again to prepare).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[tuple],
    *,
    ignore_conflicts: bool = False,
    returning: Sequence[str] = (),
) -> list[tuple]:
    """Insert `rows` (tuples of values for `fields`, by attribute name: "lead_id" for a
    foreign key). Every NOT NULL column without a database default must be among
    `fields`: no Python default is applied on PostgreSQL.

    `returning` (PostgreSQL only): the columns to read back, one tuple per row
    inserted, in the order of `rows`; a row ON CONFLICT skipped has none.
    """
    if not rows:
        return []
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]  # "lead_id" finds the foreign key
    if connection.vendor != "postgresql":
        if returning:
            raise ValueError("RETURNING needs PostgreSQL; use bulk_create here")
        model.objects.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows],
            ignore_conflicts=ignore_conflicts,
        )
        return []
    arrays = _arrays(columns, rows)
    # A column with the same value in every row (a batch's time, kind, state) is sent
    # once rather than as an array: adapting thousands of equal values is most of the
    # client's cost.
    same = [len(rows) > 1 and all(v == values[0] for v in values) for values in arrays]
    if all(same):
        same = [False] * len(same)  # identical rows: each is still a row of its own
    varying = [n for n in range(len(columns)) if not same[n]]
    constant = [n for n in range(len(columns)) if same[n]]
    names = ", ".join(connection.ops.quote_name(columns[n].column) for n in (*varying, *constant))
    selected = ", ".join(["u.*", *(f"%s::{_db_type(columns[n])}" for n in constant)])
    unnest = ", ".join(f"%s::{_db_type(columns[n])}[]" for n in varying)
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if returning:
        back = ", ".join(connection.ops.quote_name(meta.get_field(f).column) for f in returning)
        conflict += f" RETURNING {back}"
    table = connection.ops.quote_name(meta.db_table)
    # Placeholders in the order they appear: the constants, then the arrays.
    params = [arrays[n][0] for n in constant] + [arrays[n] for n in varying]
    sql = f"INSERT INTO {table} ({names}) SELECT {selected} FROM unnest({unnest}) AS u{conflict}"  # noqa: S608 - names from the model
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if returning else []


def new_instance(
    model: type[models.Model], values: dict[str, Any], related: dict[str, Any] | None = None
) -> models.Model:
    """An unsaved instance of `model` from values by attribute name ("owner_id", not
    "owner"), every other field at its default: what `model(**values)` makes, for a
    fraction of the cost. `related`: objects by relation name ("owner"), their id set
    and the object kept cached, so nothing reads it back. Django's constructor sets
    each field through its descriptor and asks each for its default (a bulk ingest
    made some 3,000 instances a request that way); a new row needs neither. With an
    init signal connected to the model, it is the constructor itself."""
    related = related or {}
    # The receiver lists first: empty (as they are here), no per-model lookup is needed.
    if (pre_init.receivers and pre_init.has_listeners(model)) or (
        post_init.receivers and post_init.has_listeners(model)
    ):
        return model(**values, **related)
    maker = _MAKERS.get(model)
    if maker is None:
        maker = _MAKERS[model] = _Maker(model)
    for name, value in related.items():
        values[maker.relations[name].attname] = value.pk if value is not None else None
    instance = maker(values)
    for name, value in related.items():
        maker.relations[name].set_cached_value(instance, value)
    return instance


class _Maker:
    """A model's defaults, read once: constants shared, callables (dict, list) called
    for each instance so that no two instances share a mutable default."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        fields = [f for f in model._meta.concrete_fields if not f.generated]
        self.attnames = frozenset(f.attname for f in fields)
        self.relations = {f.name: f for f in fields if f.is_relation}
        self.constants: dict[str, Any] = {}
        self.fresh: list[tuple[str, Callable[[], Any]]] = []
        for field in fields:
            value = field.get_default()
            if value is None or type(value) in (str, int, float, bool, Decimal):
                self.constants[field.attname] = value
            else:
                self.fresh.append((field.attname, field.get_default))

    def __call__(self, values: dict[str, Any]) -> models.Model:
        unknown = values.keys() - self.attnames
        if unknown:
            names = ", ".join(sorted(unknown))
            raise TypeError(f"{self.model.__name__} has no field (by attribute name) {names}")
        instance = self.model.__new__(self.model)
        instance._state = ModelState()
        state = instance.__dict__
        state.update(self.constants)
        for attname, default in self.fresh:
            if attname not in values:
                state[attname] = default()
        state.update(values)
        return instance


_MAKERS: dict[type[models.Model], _Maker] = {}


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[tuple]) -> None:
    """Set some columns of many rows in one `UPDATE … FROM unnest(…)`: `fields` by
    attribute name, the key first (e.g. "id"); each row holds the values in that
    order. Not the ORM's bulk_update, whose CASE per column costs a branch per row
    in Python and in SQL (seconds at a thousand rows). PostgreSQL only."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    names = [connection.ops.quote_name(column.column) for column in columns]
    key = names[0]
    assignments = ", ".join(f"{name} = u.{name}" for name in names[1:])
    unnest = ", ".join(f"%s::{_db_type(column)}[]" for column in columns)
    table = connection.ops.quote_name(meta.db_table)
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest({unnest}) AS u ({', '.join(names)}) "  # noqa: S608 - names from the model
        f"WHERE {table}.{key} = u.{key}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, _arrays(columns, rows))


def _arrays(columns: Sequence[models.Field], rows: Sequence[tuple]) -> list[list]:
    """One list of values per column, JSON columns encoded as text."""
    arrays = [list(values) for values in zip(*rows, strict=True)]
    for position, column in enumerate(columns):
        if isinstance(column, models.JSONField):
            encoder = column.encoder
            arrays[position] = [
                None if v is None else json.dumps(v, cls=encoder) for v in arrays[position]
            ]
    return arrays


def _db_type(column: models.Field) -> str:
    """A column's type without its length (varchar, not varchar(200): no truncation)."""
    target = column.target_field if column.is_relation else column
    return target.cast_db_type(connection).split("(")[0]
