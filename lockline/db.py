"""Query helpers shared by the apps."""
from __future__ import annotations

from datetime import datetime

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BooleanField, Expression, F, QuerySet


class AnyOf(Expression):
    """``<field> IN (<values>)`` that PostgreSQL answers from the field's index whatever its
    statistics say: ``.filter(AnyOf("pk", ids))``.

    With the list written into the query, the planner weighs it against the table's statistics,
    and right after a bulk insert (a campaign launch: thousands of new messages, the autovacuum
    analyze not run yet) those say the table is tiny, so a batch's lookups and updates by key
    read the whole table. Handed over as an InitPlan parameter the list is one the planner
    cannot see into, so it takes the index. Elsewhere (SQLite) a plain IN list.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, field: str, values):
        super().__init__()
        self.column = F(field)
        self.values = list(values)

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False):
        clone = self.copy()
        clone.is_summary = summarize
        clone.column = self.column.resolve_expression(query, allow_joins, reuse, summarize, for_save)
        return clone

    def as_sql(self, compiler, connection):
        if not self.values:
            raise EmptyResultSet
        sql, params = compiler.compile(self.column)
        if connection.vendor == "postgresql":
            return pg_any(sql, self.column.output_field.cast_db_type(connection)), (*params, pg_array(self.values))
        return f"{sql} IN ({', '.join(['%s'] * len(self.values))})", (*params, *self.values)


def pg_any(column_sql: str, db_type: str) -> str:
    """``<column> = ANY(<one array parameter>)``, the array handed over as an InitPlan parameter
    the planner cannot see into (see ``AnyOf``); pass the values as ``pg_array(values)``."""
    return f"{column_sql} = ANY((SELECT %s::{db_type}[])::{db_type}[])"


def pg_array(values) -> str | list:
    """``values`` as one PostgreSQL array literal (``{1,2}``, ``{"a","b"}``), to pass as a single
    text parameter cast to the array type (``%s::bigint[]``).

    psycopg2 sends a Python list as ``ARRAY[v1, v2, ...]``, one SQL literal per element, which
    the driver builds and the server parses one by one: for a webhook batch's 800 message ids
    that doubled the lookup (9.5 ms against 4.2 ms here). Ints, text and aware datetimes are
    written here; a list holding anything else is returned as it is, for the driver to adapt.
    """
    parts = []
    for value in values:
        if value is None:
            parts.append("NULL")
        elif type(value) is int:
            parts.append(str(value))
        elif isinstance(value, str):
            parts.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif isinstance(value, datetime) and value.tzinfo is not None:
            parts.append(f'"{value.isoformat()}"')
        else:
            return list(values)
    return "{" + ",".join(parts) + "}"


def key_share_rows(query: QuerySet) -> list[tuple]:
    """The rows of a ``values_list`` query, each locked FOR KEY SHARE until the transaction ends.

    FOR KEY SHARE is the lock a foreign-key check takes: the row can still be updated, not
    deleted. It is how the event tables hold the leads and messages their rows name without
    database keys (see the note in bounces/models.py). Django's select_for_update cannot ask for
    it (FOR [NO KEY] UPDATE would also hold up updates of the row), so the clause is added to
    the query's SQL; order the query by key so that transactions take overlapping rows in one
    order. SQLite (``make run``) has one writer at a time: the rows, unlocked.
    """
    if connection.vendor != "postgresql":
        return list(query)
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} FOR KEY SHARE", params)
        return cursor.fetchall()
