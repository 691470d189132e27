"""Set-based writes: one INSERT ... ON CONFLICT DO NOTHING RETURNING for many rows.

Django's ``bulk_create(ignore_conflicts=True)`` cannot tell which rows it inserted on
PostgreSQL, and the policy must run only for rows that are new (a redelivered event must not
suppress twice). The same SQL runs on PostgreSQL and on SQLite (3.35+), so ``make run`` needs
no second path.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models
from django.utils import timezone

# PostgreSQL accepts 65,535 parameters per statement, SQLite 32,766: chunks stay under 30,000
# parameters, and a 1,000-event webhook batch goes in one statement per table (each statement
# is a round trip and a plan).
MAX_PARAMS = 30_000
CHUNK_ROWS = 1000


def insert_ignoring_conflicts(objs: Sequence[models.Model], *, returning: Sequence[str]) -> list[tuple]:
    """Insert unsaved model instances; rows that hit any unique constraint are skipped.

    Returns one tuple of the ``returning`` columns per row actually inserted (in no
    guaranteed order). Python-side defaults and ``auto_now_add`` are applied as ``save()``
    would; instances are not modified except for those timestamps.
    """
    if not objs:
        return []
    model = type(objs[0])
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]
    # Plain text, numbers and ids go to the driver as they are; only other types (datetimes,
    # JSON, ...) need Django's conversion; auto_now stamps are set once per call. Skipping
    # the generic path for the rest halves the Python cost of a 1,000-row insert.
    plain = {"CharField", "TextField", "EmailField", "SlugField", "IntegerField", "BigIntegerField",
             "PositiveIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "BooleanField",
             "ForeignKey", "OneToOneField"}
    if connection.vendor == "postgresql":
        plain.add("DateTimeField")  # psycopg2 adapts aware datetimes itself
    now = timezone.now()
    stamped = [f.attname for f in fields if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False)]
    for obj in objs:
        for attname in stamped:
            setattr(obj, attname, now)  # what pre_save(add=True) would do, once per call
    converters = [(f.attname, f.get_internal_type() in plain, f) for f in fields]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in fields)
    returning_sql = ", ".join(qn(meta.get_field(name).column) for name in returning)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    out: list[tuple] = []
    with connection.cursor() as cursor:
        step = max(1, min(CHUNK_ROWS, MAX_PARAMS // len(fields)))
        for start in range(0, len(objs), step):
            chunk = objs[start : start + step]
            params: list = []
            for obj in chunk:
                for attname, is_plain, field in converters:
                    if is_plain:
                        value = getattr(obj, attname)
                        if isinstance(value, str):
                            value = storable_text(value)
                    else:
                        value = field.get_db_prep_save(getattr(obj, attname), connection)
                        if isinstance(value, str):
                            value = storable_text(value)
                    params.append(value)
            sql = (
                f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES "
                + ", ".join([row_sql] * len(chunk))
                + f" ON CONFLICT DO NOTHING RETURNING {returning_sql}"
            )
            cursor.execute(sql, params)
            out.extend(cursor.fetchall())
    return out


def storable_text(text: str) -> str:
    """Text PostgreSQL can store: no NUL characters, no lone surrogates (both arrive from ESP
    JSON as \\u0000 and \\ud800 escapes). Anything else is kept exactly."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
    return text
