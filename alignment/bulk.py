"""Many rows in one statement, without building a model instance per row.

`insert_rows` writes rows given as tuples: on PostgreSQL one `INSERT … SELECT *
FROM unnest(…)` with one array per column, whatever the number of rows (so
neither the SQL nor its planning grows with the batch); elsewhere (SQLite, the
local default) `bulk_create`. The SLA scan writes thousands of events and
notifications a batch, and building and preparing a model instance for each
cost it more than the statements themselves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection, models


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[tuple],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """Insert `rows` (tuples of values for `fields`, by attribute name: "lead_id" for a
    foreign key). Every NOT NULL column without a database default must be among
    `fields`: no Python default is applied on PostgreSQL."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]  # "lead_id" finds the foreign key
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows],
            ignore_conflicts=ignore_conflicts,
        )
        return
    arrays = [list(values) for values in zip(*rows, strict=True)]
    for position, column in enumerate(columns):
        if isinstance(column, models.JSONField):
            encoder = column.encoder
            arrays[position] = [
                None if v is None else json.dumps(v, cls=encoder) for v in arrays[position]
            ]
    types = [_array_type(column) for column in columns]
    names = ", ".join(connection.ops.quote_name(column.column) for column in columns)
    unnest = ", ".join(f"%s::{t}" for t in types)
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT * FROM unnest({unnest}){conflict}",  # noqa: S608 - names from the model
            arrays,
        )


def _array_type(column: models.Field) -> str:
    """The array type of a column without its length (varchar[], not varchar(200)[])."""
    target = column.target_field if column.is_relation else column
    return target.cast_db_type(connection).split("(")[0] + "[]"
