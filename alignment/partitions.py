# ruff: noqa: S608 - every name in this SQL comes from TABLES or the catalogue, none from input
"""Monthly partitions of the history tables (PostgreSQL only; SQLite keeps plain tables).

Lead events, clock events, notifications and the day rollup grow without end and
are read by time. On PostgreSQL each is a table range-partitioned by month on its
time column (TABLES), made so by a migration (`convert`), which keeps every index,
check, foreign key and trigger of the plain table: indexes and row triggers made
on the parent are cloned onto every partition, so the append-only guard refuses
an UPDATE or DELETE on each partition, and the outbox's statement trigger on the
parent sees the rows of all of them.

What partitioning asks for:
- The primary key is (id, time column). The ORM still treats `id` as the key; ids
  stay unique because they come from one identity sequence on the parent.
- A unique constraint must hold the time column. The rollup's key does. A
  notification's (recipient, key) does not, and it is what makes notifying twice
  impossible, so it moves to a small plain table (`alignment_notificationkey`)
  that a BEFORE INSERT trigger fills: a second row for one (recipient, key) is
  skipped, as ON CONFLICT DO NOTHING skipped it before.
- No foreign key points at these tables (none did).

Rows outside every month's partition land in the DEFAULT partition, so no write
ever fails for want of one. `ensure` (a beat task and `manage.py partitions`)
makes the coming months ahead of time. `archive` (same command, with
`--archive`) takes whole months older than ALIGNMENT_HISTORY_RETENTION_MONTHS
out of the table: per month, in one transaction, it detaches the partition,
writes it as a gzipped CSV with its header and a `.sql` file that recreates the
table and loads the CSV, fsyncs both, and drops the detached table. Rows are
never deleted one by one; a failure before the commit leaves the month attached.
"""

from __future__ import annotations

import gzip
import logging
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from django.db import connection, transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Partitioned:
    table: str
    column: str  # the partition key: a timestamptz (UTC months) or a date column
    is_date: bool = False


TABLES = (
    Partitioned("leads_leadevent", "occurred_at"),
    Partitioned("sla_clockevent", "occurred_at"),
    Partitioned("alignment_notification", "created_at"),
    Partitioned("sla_clockdayrollup", "day", is_date=True),
)
BY_TABLE = {t.table: t for t in TABLES}
KEY_TABLE = "alignment_notificationkey"


# --- months ---------------------------------------------------------------------------


def month_start(moment: date | datetime) -> date:
    return date(moment.year, moment.month, 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def _bound(spec: Partitioned, month: date) -> str:
    return f"'{month:%Y-%m-%d}'" if spec.is_date else f"'{month:%Y-%m-%d} 00:00:00+00'"


# --- the conversion (migrations) ------------------------------------------------------


def _definitions(cursor, table: str) -> dict[str, list[str]]:
    """What to recreate on the partitioned table: its indexes (not those of
    constraints), its constraints but the primary key, and its triggers."""
    cursor.execute(
        "SELECT indexdef FROM pg_indexes i WHERE tablename = %s AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname "
        " AND c.conrelid = %s::regclass)",
        [table, table],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype <> 'p' ORDER BY contype, conname",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass "
        "AND NOT tgisinternal",
        [table],
    )
    triggers = [row[0] for row in cursor.fetchall()]
    return {"indexes": indexes, "constraints": constraints, "triggers": triggers}


def convert(schema_editor, table: str, *, ahead: int = 3) -> None:
    """Turn the plain `table` into one partitioned by month, with the same columns,
    rows, indexes, constraints and triggers (a unique constraint without the
    partition key is left to the caller: see `notification_key_install`)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    spec = BY_TABLE[table]
    with schema_editor.connection.cursor() as cursor:
        kept = _definitions(cursor, table)
        old = f"{table}_unpartitioned"
        cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
        cursor.execute(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY "
            f"INCLUDING STORAGE, CONSTRAINT {table}_id_{spec.column}_pkey "
            f"PRIMARY KEY (id, {spec.column})) "
            f"PARTITION BY RANGE ({spec.column})"
        )
        cursor.execute(f"SELECT min({spec.column}), max({spec.column}) FROM {old}")
        first, last = cursor.fetchone()
        now = month_start(datetime.now(UTC))
        months = _months(
            month_start(first) if first else now, max(month_start(last or now), now), ahead
        )
        for month in months:
            _create(cursor, spec, month)
        cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        cursor.execute(f"INSERT INTO {table} SELECT * FROM {old}")
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"coalesce((SELECT max(id) FROM {old}), 0) + 1, false)"
        )
        cursor.execute(f"DROP TABLE {old}")
        _name_sequence(cursor, table)
        _recreate(cursor, table, spec, kept)


def _name_sequence(cursor, table: str) -> None:
    # The new identity's sequence got a suffix while the old one existed: name it as Django would.
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    if sequence.split(".")[-1] != f"{table}_id_seq":
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {table}_id_seq")


def _months(first: date, last: date, ahead: int) -> list[date]:
    # At most ten years of months from the data; anything older waits in DEFAULT.
    first = max(first, add_months(last, -120))
    months, month = [], first
    while month <= add_months(last, ahead):
        months.append(month)
        month = add_months(month, 1)
    return months


def _recreate(cursor, table: str, spec: Partitioned, kept: dict[str, list]) -> None:
    for statement in kept["indexes"]:
        cursor.execute(statement)
    for name, kind, definition in kept["constraints"]:
        if kind == "u" and spec.column not in definition:
            continue  # cannot be enforced by a partitioned table: the caller's
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for statement in kept["triggers"]:
        cursor.execute(statement)


def unconvert(schema_editor, table: str) -> None:
    """The reverse of `convert`: one plain table again (rows, indexes, triggers)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        kept = _definitions(cursor, table)
        old = f"{table}_partitioned"
        cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
        cursor.execute(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY, "
            "PRIMARY KEY (id))"
        )
        cursor.execute(f"INSERT INTO {table} SELECT * FROM {old}")
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"coalesce((SELECT max(id) FROM {old}), 0) + 1, false)"
        )
        cursor.execute(f"DROP TABLE {old} CASCADE")
        _name_sequence(cursor, table)
        _recreate(cursor, table, BY_TABLE[table], kept)


# --- notifications once per (recipient, key) ------------------------------------------


# Set (transaction-local) by alignment.notifications while it inserts rows whose keys it
# has just claimed itself, all at once: the trigger then lets them through untouched.
KEYS_CLAIMED = "alignment.notification_keys_claimed"


def _once_function(*, claims: bool) -> str:
    """The BEFORE INSERT trigger's function; with `claims`, a row whose key the inserting
    code claimed already (KEYS_CLAIMED on) passes without a second claim."""
    claimed = (
        f"""
    IF current_setting('{KEYS_CLAIMED}', true) = 'on' THEN
        RETURN NEW;  -- its key claimed by the same statement's caller, set-based
    END IF;"""
        if claims
        else ""
    )
    return f"""
CREATE OR REPLACE FUNCTION alignment_notification_once() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN{claimed}
    INSERT INTO {KEY_TABLE} (recipient_id, key) VALUES (NEW.recipient_id, NEW.key)
        ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN NULL;  -- notified already: skipped, as ON CONFLICT DO NOTHING did
    END IF;
    RETURN NEW;
END;
$$;"""


def notification_key_claims(schema_editor, *, claims: bool = True) -> None:
    """Let the next INSERT of rows whose keys were claimed set-based through the trigger
    (or not): a statement trigger turns KEYS_CLAIMED off again once that INSERT is done,
    so no later insert of the transaction passes unclaimed."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(_once_function(claims=claims), params=None)
    if claims:
        schema_editor.execute(
            f"""
CREATE OR REPLACE FUNCTION alignment_notification_claims_done() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('{KEYS_CLAIMED}', 'off', true);
    RETURN NULL;
END;
$$;
CREATE TRIGGER alignment_notification_claims_done AFTER INSERT ON alignment_notification
    FOR EACH STATEMENT EXECUTE FUNCTION alignment_notification_claims_done();
""",
            params=None,
        )
    else:
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS alignment_notification_claims_done ON alignment_notification;"
            "DROP FUNCTION IF EXISTS alignment_notification_claims_done();",
            params=None,
        )


def notification_key_install(schema_editor) -> None:
    """(recipient, key) unique across all months: a plain table of the keys seen,
    filled by a BEFORE INSERT trigger that skips a row whose key is there."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"""
CREATE TABLE {KEY_TABLE} (
    recipient_id bigint NOT NULL,
    key varchar(200) NOT NULL,
    PRIMARY KEY (recipient_id, key)
);
INSERT INTO {KEY_TABLE} SELECT recipient_id, key FROM alignment_notification;
{_once_function(claims=False)}
CREATE TRIGGER alignment_notification_once BEFORE INSERT ON alignment_notification
    FOR EACH ROW EXECUTE FUNCTION alignment_notification_once();
-- Emptying the notifications (Django's flush) empties their keys.
CREATE OR REPLACE FUNCTION alignment_notification_keys_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE {KEY_TABLE};
    RETURN NULL;
END;
$$;
CREATE TRIGGER alignment_notification_keys_truncate AFTER TRUNCATE ON alignment_notification
    FOR EACH STATEMENT EXECUTE FUNCTION alignment_notification_keys_truncate();
ALTER TABLE alignment_notification DROP CONSTRAINT IF EXISTS notification_once_per_event;
""",
        params=None,
    )


def notification_key_uninstall(schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS alignment_notification_once ON alignment_notification;"
        "DROP FUNCTION IF EXISTS alignment_notification_once();"
        "DROP TRIGGER IF EXISTS alignment_notification_keys_truncate ON alignment_notification;"
        "DROP FUNCTION IF EXISTS alignment_notification_keys_truncate();"
        f"DROP TABLE IF EXISTS {KEY_TABLE};"
    )


# --- months ahead (beat) --------------------------------------------------------------


def _create(cursor, spec: Partitioned, month: date) -> None:
    name = partition_name(spec.table, month)
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {spec.table} FOR VALUES "
        f"FROM ({_bound(spec, month)}) TO ({_bound(spec, add_months(month, 1))})"
    )


def is_partitioned(table: str) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [table])
        return cursor.fetchone() is not None


def months_of(table: str) -> list[date]:
    """The months that have a partition of `table`, in order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table],
        )
        names = [row[0] for row in cursor.fetchall()]
    prefix = f"{table}_p"
    months = [n[len(prefix) :] for n in names if n.startswith(prefix)]
    return sorted(date(int(m[:4]), int(m[4:]), 1) for m in months if m.isdigit() and len(m) == 6)


def ensure(*, now: datetime, ahead: int, back: int = 0) -> list[str]:
    """Make the partitions of this month, the `ahead` next ones and the `back` past
    ones where missing. A month the DEFAULT partition already holds rows of is left
    there (moving them would delete rows from an append-only table) and logged.
    Returns the partitions made."""
    made = []
    for spec in TABLES:
        if not is_partitioned(spec.table):
            continue
        have = set(months_of(spec.table))
        for n in range(-back, ahead + 1):
            month = add_months(month_start(now), n)
            if month in have:
                continue
            with transaction.atomic(), connection.cursor() as cursor:
                if _default_holds(cursor, spec, month):
                    log.warning("%s: rows of %s wait in DEFAULT", spec.table, f"{month:%Y-%m}")
                    continue
                _create(cursor, spec, month)
            made.append(partition_name(spec.table, month))
    return made


def _default_holds(cursor, spec: Partitioned, month: date) -> bool:
    cursor.execute(
        f"SELECT 1 FROM {spec.table}_default WHERE {spec.column} >= {_bound(spec, month)} "
        f"AND {spec.column} < {_bound(spec, add_months(month, 1))} LIMIT 1"
    )
    return cursor.fetchone() is not None


def maintain(*, now: datetime | None = None) -> list[str]:
    """What the beat task runs: the months ahead, then the retention if one is set.
    Returns the partitions made and the files written."""
    from django.conf import settings

    from alignment import clock

    now = now or clock.now()
    done = ensure(now=now, ahead=settings.HISTORY_PARTITIONS_AHEAD)
    if settings.HISTORY_RETENTION_MONTHS > 0:
        files = archive(
            now=now,
            keep_months=settings.HISTORY_RETENTION_MONTHS,
            directory=Path(settings.HISTORY_ARCHIVE_DIR),
        )
        done += [str(f) for f in files]
    return done


# --- retention: whole months out, to files --------------------------------------------


def archive(*, now: datetime, keep_months: int, directory: Path) -> list[Path]:
    """Detach, write out and drop every partition whose whole month is older than
    `keep_months` months before `now`. Returns the CSV files written."""
    written = []
    oldest_kept = add_months(month_start(now), -keep_months)
    for spec in TABLES:
        if not is_partitioned(spec.table):
            continue
        for month in months_of(spec.table):
            if month < oldest_kept:
                written.append(_archive_one(spec, month, directory))
    return written


def _archive_one(spec: Partitioned, month: date, directory: Path) -> Path:
    name = partition_name(spec.table, month)
    directory.mkdir(parents=True, exist_ok=True)
    data, schema = directory / f"{name}.csv.gz", directory / f"{name}.sql"
    with transaction.atomic(), connection.cursor() as cursor:
        # A table with deferred foreign-key checks still pending cannot be dropped: run
        # them now (nothing is pending in the beat's own transaction; a caller's may be).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {spec.table} DETACH PARTITION {name}")
        columns = _columns(cursor, name)
        with gzip.open(data, "wb") as out:
            cursor.copy_expert(f"COPY {name} TO STDOUT WITH (FORMAT csv, HEADER true)", out)
        schema.write_text(_load_script(name, columns, data.name))
        for path in (data, schema):
            _fsync(path)
        _fsync(directory)
        cursor.execute(f"DROP TABLE {name}")
    log.info("archived %s to %s", name, data)
    return data


def _columns(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        [table],
    )
    return cursor.fetchall()


def _load_script(table: str, columns: list[tuple[str, str]], csv_name: str) -> str:
    body = ",\n".join(f"    {name} {kind}" for name, kind in columns)
    return (
        f"-- {table}: one month of history archived by Alignment (alignment.partitions).\n"
        f"-- Load it in psql from this directory:  \\i {table}.sql\n"
        f"CREATE TABLE {table} (\n{body}\n);\n"
        f"\\copy {table} FROM PROGRAM 'gzip -dc {csv_name}' WITH (FORMAT csv, HEADER true)\n"
    )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
