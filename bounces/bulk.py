"""Set-based writes: INSERT ... ON CONFLICT DO NOTHING RETURNING for many rows.

Django's ``bulk_create(ignore_conflicts=True)`` cannot tell which rows it inserted on
PostgreSQL, and the policy must run only for rows that are new (a redelivered event must not
suppress twice).

On PostgreSQL a batch's rows travel by COPY into a temporary staging table (one per table and
column list, per connection, emptied at commit) and go into the real table with one
``INSERT ... SELECT ... ORDER BY ... ON CONFLICT DO NOTHING RETURNING``: a 1,000-row VALUES
list costs the server more to parse and plan (16,000 literals) than the insert itself. Rows
are inserted in the order given, so callers that sort by key keep locking unique index entries
in one order. A few rows, and SQLite (``make run``), take one multi-row VALUES statement per
chunk instead.
"""
from __future__ import annotations

import io
import zlib
from operator import attrgetter
from collections.abc import Sequence
from datetime import date, datetime

from django.db import connection, models
from django.utils import timezone

# SQLite accepts 32,766 parameters per statement: chunks stay under 30,000 parameters.
MAX_PARAMS = 30_000
CHUNK_ROWS = 1000
# Below this many rows one VALUES statement is cheaper than COPY's three round trips (the
# one-event posts most ESPs send).
COPY_MIN_ROWS = 50
# COPY's data goes to the server in pieces of this size: one piece for a webhook batch (a
# 1,000-event batch is about 350 kB), not psycopg2's default 8 kB reads of a text stream, each
# encoded and sent on its own.
COPY_CHUNK = 1 << 20

# Field types whose Python values go to the database as they are (after storable_text).
_PLAIN = {"CharField", "TextField", "EmailField", "SlugField", "IntegerField", "BigIntegerField",
          "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "BooleanField",
          "ForeignKey", "OneToOneField", "DateTimeField"}


def insert_ignoring_conflicts(objs: Sequence[models.Model], *, returning: Sequence[str]) -> list[tuple]:
    """Insert unsaved model instances; rows that hit any unique constraint are skipped.

    Returns one tuple of the ``returning`` columns per row actually inserted (in no
    guaranteed order). Python-side defaults and ``auto_now_add`` are applied as ``save()``
    would; instances are not modified except for those timestamps.
    """
    if not objs:
        return []
    model = type(objs[0])
    fields = _insert_fields(model)
    now = timezone.now()
    stamped = [f.attname for f in fields if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)]
    for obj in objs:
        for attname in stamped:
            setattr(obj, attname, now)  # what pre_save(add=True) would do, once per call
    getters = [f.attname for f in fields]
    # One C call per object; attrgetter of a single name returns the value, not a 1-tuple.
    row_of = attrgetter(*getters) if len(getters) > 1 else (lambda obj: (getattr(obj, getters[0]),))
    rows = list(map(row_of, objs))
    if all(f.get_internal_type() in _PLAIN for f in fields):
        return insert_rows(model, getters, rows, returning=returning)
    # Other types (JSON, ...) through Django's conversion and the driver's adaptation.
    rows = [tuple(v if f.get_internal_type() in _PLAIN else f.get_db_prep_save(v, connection)
                  for f, v in zip(fields, row)) for row in rows]
    return _insert_by_values(model, getters, rows, returning=returning)


def insert_rows(model: type[models.Model], attnames: Sequence[str], rows: Sequence[tuple], *,
                returning: Sequence[str], unique: Sequence[str] = ()) -> list[tuple]:
    """``insert_ignoring_conflicts`` for plain tuples: one value per attname, in that order.

    Values must be what the database column takes (text, numbers, ids, aware datetimes, None):
    no defaults are applied, so every column without a database default must be given. Text
    is made storable (``storable_text``). Skips model instantiation on hot paths.

    ``unique`` names the one unique key whose conflicts are skipped (``ON CONFLICT (key)``);
    a conflict on any other unique key then raises. By default every unique index is checked
    before each row goes in, the serial primary key's too, which never conflicts: naming the
    key spares each row that index descent (about a tenth of a 600-row engagement insert).
    """
    if not rows:
        return []
    meta = model._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(a).column) for a in attnames)
    returning_sql = ", ".join(qn(meta.get_field(name).column) for name in returning)
    if connection.vendor == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        return _insert_by_copy(qn(meta.db_table), meta.db_table, columns, rows, returning_sql,
                               _conflict_sql(meta, unique))
    return _insert_by_values(model, attnames, rows, returning=returning, unique=unique)


def _conflict_sql(meta, unique: Sequence[str]) -> str:
    if not unique:
        return "ON CONFLICT DO NOTHING"
    qn = connection.ops.quote_name
    return f"ON CONFLICT ({', '.join(qn(meta.get_field(name).column) for name in unique)}) DO NOTHING"


def _insert_by_values(model, attnames, rows, *, returning, unique: Sequence[str] = ()) -> list[tuple]:
    meta = model._meta
    conflict = _conflict_sql(meta, unique)
    qn = connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(a).column) for a in attnames)
    returning_sql = ", ".join(qn(meta.get_field(name).column) for name in returning)
    row_sql = "(" + ", ".join(["%s"] * len(attnames)) + ")"
    adapt_datetime = connection.ops.adapt_datetimefield_value  # SQLite stores them as UTC text
    out: list[tuple] = []
    with connection.cursor() as cursor:
        step = max(1, min(CHUNK_ROWS, MAX_PARAMS // len(attnames)))
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            params = [
                storable_text(v) if isinstance(v, str) else adapt_datetime(v) if isinstance(v, datetime) else v
                for row in chunk for v in row
            ]
            cursor.execute(
                f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES "
                + ", ".join([row_sql] * len(chunk))
                + f" {conflict} RETURNING {returning_sql}",
                params,
            )
            out.extend(cursor.fetchall())
    return out


def _insert_fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]


def _insert_by_copy(table_sql: str, table: str, columns: str, rows: Sequence[tuple], returning_sql: str,
                    conflict: str) -> list[tuple]:
    # Named after the column list, so a connection that outlives a schema change never feeds
    # an old staging table's shape into a new insert.
    stage = f"lockline_stage_{table}_{zlib.crc32(columns.encode()):08x}"[:63]
    body = io.BytesIO(_copy_text(rows).encode())
    with connection.cursor() as cursor:
        with connection.wrap_database_errors:
            # The staging table lives as long as the connection; ON COMMIT DELETE ROWS empties
            # it at the end of any transaction that used it, and the DELETE before the COPY
            # empties it of an earlier call in the same transaction (on an empty table it costs
            # nothing; a DELETE ... RETURNING feeding the INSERT cost 3 % of a webhook batch).
            # Its columns copy the real table's types (not its constraints: the real table
            # checks everything on the INSERT). Created (if missing) in the same round trip as
            # the COPY: the server runs the statements in turn and then asks for the rows.
            cursor.copy_expert(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
                f"SELECT 0 AS lockline_n, {columns} FROM {table_sql} WITH NO DATA; "
                f"DELETE FROM pg_temp.{stage}; "
                f"COPY pg_temp.{stage} (lockline_n, {columns}) FROM STDIN",
                body, COPY_CHUNK,  # positional: Django's debug cursor passes on only positional arguments
            )
        cursor.execute(
            f"INSERT INTO {table_sql} ({columns}) SELECT {columns} FROM pg_temp.{stage} ORDER BY lockline_n "
            f"{conflict} RETURNING {returning_sql}"
        )
        return cursor.fetchall()


def _copy_text(rows: Sequence[tuple]) -> str:
    """Rows in COPY's text format (tab-separated, \\N for NULL, backslash escapes), each led
    by its position. Built a column at a time: a column of text is escaped as one string."""
    columns = [list(map(str, range(len(rows))))]
    columns.extend(_copy_column(column) for column in zip(*rows))
    return "\n".join(map("\t".join, zip(*columns))) + "\n"


def _copy_column(values: tuple) -> list[str]:
    kinds = set(map(type, values))
    if all(issubclass(kind, str) for kind in kinds):  # text, and text choices (enum members)
        joined = "\x00".join(values)
        if joined.count("\x00") == len(values) - 1:  # no NUL inside a value: NUL separates them
            joined = _without_surrogates(joined)
            return _copy_escape(joined).split("\x00")
    elif kinds == {datetime}:
        text = {value: value.isoformat() for value in set(values)}
        return [text[value] for value in values]
    elif kinds <= {int, type(None)}:
        return ["\\N" if value is None else str(value) for value in values]
    return [_copy_value(value) for value in values]


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return _copy_escape(storable_text(value))
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _copy_escape(text: str) -> str:
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def storable_text(text: str) -> str:
    """Text PostgreSQL can store: no NUL characters, no lone surrogates (both arrive from ESP
    JSON as \\u0000 and \\ud800 escapes). Anything else is kept exactly."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    return _without_surrogates(text)


def _without_surrogates(text: str) -> str:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
    return text
