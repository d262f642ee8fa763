"""`field__any=[…]`: membership in a list sent as one array parameter.

Django's `__in` sends one placeholder per value; for a bulk ingest's thousand
emails, preparing and compiling those cost more than the query itself. On
PostgreSQL `= ANY(%s)` takes the whole list as one parameter (and uses the same
indexes as IN); elsewhere (SQLite) it is IN. Registered on every field by
alignment's AppConfig.
"""

from __future__ import annotations

from django.db.models import Field, Lookup


class Any(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return "%s", [list(value)]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


def register() -> None:
    Field.register_lookup(Any)
