"""Write a projector's changed rows in bulk: insert new rows, overwrite existing ones.

Rows are plain dicts keyed by field attname. On PostgreSQL a large batch goes
through a binary COPY into a temporary table and one INSERT ... ON CONFLICT from it,
which keeps per-value work in psycopg's C code; a small batch (the usual catch-up of a
few events) is one multi-row INSERT, which costs fewer round trips.
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

import orjson
from django.db import connections, models
from psycopg.types.json import set_json_dumps

READ_DB = "read"
COPY_FROM_ROWS = 200


def upsert(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, on_conflict: str | None = None
) -> None:
    """Insert or overwrite `rows` (every concrete field present) in the model's table
    (or do `on_conflict` where a row exists)."""
    if not rows:
        return
    connection = connections[READ_DB]
    table = _Table.of(model)
    on_conflict = on_conflict or table.on_conflict
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) >= COPY_FROM_ROWS:
            _copy_upsert(cursor, table, rows, connection, on_conflict)
        elif connection.vendor == "postgresql":
            values = ", ".join([table.row_placeholder] * len(rows))
            cursor.execute(
                f"INSERT INTO {table.name} ({table.columns}) VALUES {values} {on_conflict}",
                [value for row in rows for value in table.values(row)],
            )
        else:
            # Any other backend: one statement per row, adapted by the fields themselves.
            cursor.executemany(
                f"INSERT INTO {table.name} ({table.columns}) VALUES {table.row_placeholder} "
                f"{on_conflict}",
                [table.prepared(row, connection) for row in rows],
            )


def _copy_upsert(
    cursor, table: "_Table", rows: Sequence[dict[str, Any]], connection, on_conflict: str
) -> None:
    staging = f"staging_{table.plain_name}"
    # A temporary table lives as long as the connection; its rows only until the insert.
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
        f"(LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    copy_into = f"COPY {staging} ({table.columns}) FROM STDIN"
    if table.binary:
        # Binary, typed by the table's own column types: text COPY spent most of a
        # large write turning datetimes, UUIDs and Decimals into text (twice as slow).
        cursor.execute(_COLUMN_TYPES, [table.column_names, table.name])
        types = [oid for (oid,) in cursor.fetchall()]
        set_json_dumps(_json_bytes, cursor.cursor)  # JSON values go in as objects
        with cursor.cursor.copy(f"{copy_into} (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(table.objects(row, connection))
    else:
        with cursor.cursor.copy(copy_into) as copy:
            for row in rows:
                copy.write_row(table.values(row))
    cursor.execute(
        f"INSERT INTO {table.name} ({table.columns}) SELECT {table.columns} FROM {staging} "
        f"{on_conflict}; TRUNCATE {staging}"
    )


# The type of each named column of a table, in the order named.
_COLUMN_TYPES = (
    "SELECT atttypid::int FROM pg_attribute, unnest(%s::text[]) WITH ORDINALITY AS c(name, n) "
    "WHERE attrelid = %s::regclass AND attname = c.name ORDER BY c.n"
)


# The Python types a binary COPY takes as they are, by kind of field (None: any, JSON).
# A value of another type (text for a datetime, say) is prepared by its field first,
# as the text COPY and the INSERT, which let PostgreSQL parse text, accepted it.
_BINARY_TYPES: dict[str, tuple[type, ...] | None] = {
    "UUIDField": (UUID,),
    "CharField": (str,),
    "TextField": (str,),
    "SlugField": (str,),
    "BooleanField": (bool,),
    "SmallIntegerField": (int,),
    "IntegerField": (int,),
    "BigIntegerField": (int,),
    "PositiveSmallIntegerField": (int,),
    "PositiveIntegerField": (int,),
    "PositiveBigIntegerField": (int,),
    "AutoField": (int,),
    "BigAutoField": (int,),
    "FloatField": (float,),
    "DecimalField": (Decimal,),
    "DateField": (date,),
    "DateTimeField": (datetime,),
    "JSONField": None,
}


class _Table:
    """What the upsert statements need to know about one model's table."""

    def __init__(self, model: type[models.Model]) -> None:
        meta = model._meta
        self.fields = list(meta.concrete_fields)
        self.plain_name = meta.db_table
        self.name = f'"{meta.db_table}"'
        self.columns = ", ".join(f'"{f.column}"' for f in self.fields)
        self.row_placeholder = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        updates = ", ".join(
            f'"{f.column}" = EXCLUDED."{f.column}"' for f in self.fields if not f.primary_key
        )
        self.on_conflict = f'ON CONFLICT ("{meta.pk.column}") DO UPDATE SET {updates}'
        self.column_names = [f.column for f in self.fields]
        self._attnames = [f.attname for f in self.fields]
        self._json = {f.attname for f in self.fields if isinstance(f, models.JSONField)}
        kinds = [f.get_internal_type() for f in self.fields]
        # Any other kind of field: the text COPY, which takes every value as text.
        self.binary = all(kind in _BINARY_TYPES for kind in kinds)
        self._typed = [
            (f.attname, None if fits is None else {*fits, type(None)}, f)
            for f, fits in zip(self.fields, map(_BINARY_TYPES.get, kinds), strict=True)
        ]

    @staticmethod
    @cache
    def of(model: type[models.Model]) -> "_Table":
        return _Table(model)

    def values(self, row: dict[str, Any]) -> list[Any]:
        """The row's values in column order; JSON as text, which PostgreSQL parses."""
        return [_json(row[name]) if name in self._json else row[name] for name in self._attnames]

    def objects(self, row: dict[str, Any], connection) -> list[Any]:
        """The row's values in column order, of the types a typed binary COPY takes."""
        values = []
        for name, fits, field in self._typed:
            value = row[name]
            if fits is not None and (
                value.__class__ not in fits
                # A naive datetime is made aware by the field (with Django's warning).
                or (value.__class__ is datetime and value.tzinfo is None)
            ):
                value = field.get_db_prep_save(value, connection)
            values.append(value)
        return values

    def prepared(self, row: dict[str, Any], connection) -> list[Any]:
        return [
            _json(row[field.attname])
            if field.attname in self._json
            else field.get_db_prep_save(row[field.attname], connection)
            for field in self.fields
        ]


def _json(value: Any) -> str:
    return _json_bytes(value).decode()


def _json_bytes(value: Any) -> bytes:
    # orjson: several times faster than json.dumps on these small documents.
    return orjson.dumps(value, default=_amount, option=orjson.OPT_NON_STR_KEYS)


def _amount(value: Any) -> str:
    # Amounts summed in memory are Decimals; the read models store them as strings.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
