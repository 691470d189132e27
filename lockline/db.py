"""Query helpers shared by the apps."""
from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db.models import BooleanField, Expression, F


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
            array = f"{self.column.output_field.cast_db_type(connection)}[]"
            return f"{sql} = ANY((SELECT %s::{array})::{array})", (*params, self.values)
        return f"{sql} IN ({', '.join(['%s'] * len(self.values))})", (*params, *self.values)
