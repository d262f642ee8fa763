"""The database's last line, defined once for both vendors.

Services already refuse these writes; the triggers catch a stray UPDATE from a
shell, a data migration or a future bug. Three kinds cover every table that
needs one:

    append_only      an event log: no UPDATE, no DELETE
    frozen_version   a co-signed version: once agreed or superseded, its signed
                     columns never change, and its status only moves forward
    frozen_parts     the rows a version is made of (rules, goals, reasons...):
                     no INSERT, UPDATE or DELETE while their version is frozen

Each yields the PostgreSQL and the SQLite statements, so the local default
(SQLite) refuses exactly what production (PostgreSQL) refuses. Both answer with
an IntegrityError in Django (PostgreSQL's ERRCODE 23514 / 23000, SQLite's
RAISE(ABORT) is a constraint error).

Emptying every table (Django's flush, which the test suite runs between
transactional tests) is not an edit: PostgreSQL flushes with TRUNCATE, which
row triggers do not see; SQLite flushes with DELETE FROM, so its triggers ask
`alignment_guarded()`, a function each SQLite connection gets (`connect`),
which says 0 only while Django's flush runs. A client without the function
(the sqlite3 shell) is refused every guarded write: the guard fails closed.

Migrations call `install(...)`/`uninstall(...)` with the guards of their app.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from dataclasses import dataclass

FROZEN = "('agreed', 'superseded')"
_flushing = contextvars.ContextVar("alignment_flushing", default=False)


@dataclass(frozen=True)
class Guard:
    name: str
    postgresql: tuple[str, ...]
    postgresql_drop: tuple[str, ...]
    sqlite: tuple[str, ...]
    sqlite_drop: tuple[str, ...]


def _pg_function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$\n"
        f"BEGIN\n{body}\nEND;\n$$ LANGUAGE plpgsql;"
    )


def _pg_trigger(name: str, table: str, events: str) -> tuple[str, ...]:
    return (
        f"DROP TRIGGER IF EXISTS {name} ON {table};",
        f"CREATE TRIGGER {name} BEFORE {events} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}();",
    )


def _pg_drop(name: str, table: str) -> tuple[str, ...]:
    return (f"DROP TRIGGER IF EXISTS {name} ON {table};", f"DROP FUNCTION IF EXISTS {name}();")


def _sqlite_trigger(name: str, table: str, event: str, when: str, message: str) -> str:
    message = message.replace("'", "''")
    return (
        f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
        f"FOR EACH ROW WHEN alignment_guarded() AND ({when}) "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END;"
    )


def append_only(table: str, what: str) -> Guard:
    """`what` names the rows in the error, e.g. "lead events"."""
    name = f"{table}_append_only"
    body = (
        f"  RAISE EXCEPTION '{what} are append-only: % refused', TG_OP\n"
        "    USING ERRCODE = 'integrity_constraint_violation';"
    )
    sqlite = tuple(
        _sqlite_trigger(
            f"{table}_no_{op.lower()}", table, op, "1", f"{what} are append-only: {op} refused"
        )
        for op in ("UPDATE", "DELETE")
    )
    return Guard(
        name=name,
        postgresql=(_pg_function(name, body), *_pg_trigger(name, table, "UPDATE OR DELETE")),
        postgresql_drop=_pg_drop(name, table),
        sqlite=sqlite,
        sqlite_drop=tuple(
            f"DROP TRIGGER IF EXISTS {table}_no_{op};" for op in ("update", "delete")
        ),
    )


def frozen_version(table: str, columns: Sequence[str], what: str) -> Guard:
    """A version in force or superseded: `columns` (what was signed) never change; the
    status goes agreed -> superseded and no other way."""
    changed = [f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns]
    moves = [
        "(OLD.status = 'superseded' AND NEW.status <> 'superseded')",
        "(OLD.status = 'agreed' AND NEW.status NOT IN ('agreed', 'superseded'))",
    ]
    condition = " OR ".join([*changed, *moves])
    name = f"{table}_frozen"
    body = (
        f"  IF OLD.status IN {FROZEN} AND ({condition}) THEN\n"
        f"    RAISE EXCEPTION '{what} % is % and can never be edited', OLD.id, OLD.status\n"
        "      USING ERRCODE = '23514';\n"
        "  END IF;\n"
        "  RETURN NEW;"
    )
    sqlite_condition = condition.replace("IS DISTINCT FROM", "IS NOT")
    return Guard(
        name=name,
        postgresql=(_pg_function(name, body), *_pg_trigger(name, table, "UPDATE")),
        postgresql_drop=_pg_drop(name, table),
        sqlite=(
            _sqlite_trigger(
                name,
                table,
                "UPDATE",
                f"OLD.status IN {FROZEN} AND ({sqlite_condition})",
                f"{what} is in force or superseded and can never be edited",
            ),
        ),
        sqlite_drop=(f"DROP TRIGGER IF EXISTS {name};",),
    )


def frozen_parts(table: str, version_table: str, version_column: str, what: str) -> Guard:
    """Rows of `table` belong to a version through `version_column`: none is added,
    changed or removed while that version is in force or superseded."""
    name = f"{table}_frozen"
    body = (
        "  IF (SELECT status FROM "  # noqa: S608 - table names from migrations, not input
        f"{version_table} WHERE id = COALESCE(NEW.{version_column}, OLD.{version_column})) "
        f"IN {FROZEN} THEN\n"
        f"    RAISE EXCEPTION '{what} of version % can never be edited',\n"
        f"      COALESCE(NEW.{version_column}, OLD.{version_column})\n"
        "      USING ERRCODE = '23514';\n"
        "  END IF;\n"
        "  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n"
        "  RETURN NEW;"
    )

    def frozen(row: str) -> str:
        return (
            f"(SELECT status FROM {version_table} "  # noqa: S608 - names from migrations
            f"WHERE id = {row}.{version_column}) IN {FROZEN}"
        )

    whens = {
        "INSERT": frozen("NEW"),
        "UPDATE": f"{frozen('OLD')} OR {frozen('NEW')}",
        "DELETE": frozen("OLD"),
    }
    return Guard(
        name=name,
        postgresql=(
            _pg_function(name, body),
            *_pg_trigger(name, table, "INSERT OR UPDATE OR DELETE"),
        ),
        postgresql_drop=_pg_drop(name, table),
        sqlite=tuple(
            _sqlite_trigger(
                f"{name}_{op.lower()}",
                table,
                op,
                when,
                f"{what} of a version in force or superseded can never be edited",
            )
            for op, when in whens.items()
        ),
        sqlite_drop=tuple(f"DROP TRIGGER IF EXISTS {name}_{op};" for op in whens),
    )


def _statements(schema_editor, guards: Sequence[Guard], drop: bool) -> list[str]:
    vendor = schema_editor.connection.vendor
    out: list[str] = []
    for guard in guards:
        if vendor == "postgresql":
            out += guard.postgresql_drop if drop else guard.postgresql
        elif vendor == "sqlite":  # no CREATE OR REPLACE: drop, then create
            out += guard.sqlite_drop if drop else (*guard.sqlite_drop, *guard.sqlite)
    return out


# SQLite rebuilds a table to alter it (new table, copy, drop, rename), and refuses the
# rename while a trigger elsewhere names the table. So on SQLite the guards stand aside
# for the whole of `migrate`: pre_migrate lifts those in place, migrations only say
# which they want, post_migrate creates them all once every table has its last shape.
_sqlite_pending: dict[str, tuple[str, ...]] = {}
GUARD_MARK = "alignment_guarded()"


def install(schema_editor, *guards: Guard) -> None:
    if schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            for statement in _statements(schema_editor, guards, drop=True):
                cursor.execute(statement)
        for guard in guards:
            _sqlite_pending[guard.name] = guard.sqlite
        return
    # A plain cursor: no parameter interpolation of the % in RAISE.
    with schema_editor.connection.cursor() as cursor:
        for statement in _statements(schema_editor, guards, drop=False):
            cursor.execute(statement)


def uninstall(schema_editor, *guards: Guard) -> None:
    if schema_editor.connection.vendor == "sqlite":
        for guard in guards:
            _sqlite_pending.pop(guard.name, None)
    with schema_editor.connection.cursor() as cursor:
        for statement in _statements(schema_editor, guards, drop=True):
            cursor.execute(statement)


def lift_sqlite_guards(sender, using="default", **kwargs) -> None:
    """pre_migrate: keep the SQL of every guard trigger in place and drop it."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE %s",
            [f"%{GUARD_MARK}%"],
        )
        for name, sql in cursor.fetchall():
            _sqlite_pending.setdefault(f"lifted:{name}", (sql,))
            cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def restore_sqlite_guards(sender, using="default", **kwargs) -> None:
    """post_migrate: create every guard the migrations asked for, and those lifted."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite" or not _sqlite_pending:
        return
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for statements in _sqlite_pending.values():
            for statement in statements:
                table = statement.split(" ON ", 1)[1].split()[0].strip('"')
                if table in tables:  # a table a later migration removed keeps no guard
                    cursor.execute(
                        statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1)
                    )
    _sqlite_pending.clear()


def operation(*guards: Guard, replaces_postgresql: Sequence[str] = ()):
    """A migration operation that installs `guards` (and removes them when reversed).
    `replaces_postgresql`: statements dropping triggers an older migration wrote by hand."""
    from django.db import migrations

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                for statement in replaces_postgresql:
                    cursor.execute(statement)
        install(schema_editor, *guards)

    def backwards(apps, schema_editor):
        uninstall(schema_editor, *guards)

    return migrations.RunPython(forwards, backwards)


# -- SQLite: the function the triggers ask, and Django's flush let through ---------------


def _guarded() -> int:
    return 0 if _flushing.get() else 1


def connect(sender, connection, **kwargs) -> None:
    """connection_created: give each SQLite connection `alignment_guarded()`."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("alignment_guarded", 0, _guarded)


def let_flush_through() -> None:
    """Django's flush empties every table (PostgreSQL's TRUNCATE does the same past the
    row triggers): SQLite's guards stand aside while it runs, in this thread only."""
    from django.db.backends.sqlite3.base import DatabaseOperations

    if getattr(DatabaseOperations.execute_sql_flush, "_lets_guards_aside", False):
        return
    flush = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        token = _flushing.set(True)
        try:
            return flush(self, sql_list)
        finally:
            _flushing.reset(token)

    execute_sql_flush._lets_guards_aside = True
    DatabaseOperations.execute_sql_flush = execute_sql_flush
