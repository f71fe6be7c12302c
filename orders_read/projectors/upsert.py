"""Write a projector's changed rows in bulk: insert new rows, overwrite existing ones.

Rows are plain dicts keyed by field attname. On PostgreSQL a large batch goes
through COPY into a temporary table and one INSERT ... ON CONFLICT from it, which
keeps per-value work in psycopg's C code; a small batch (the usual catch-up of a
few events) is one multi-row INSERT, which costs fewer round trips.
"""

import json
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import connections, models

READ_DB = "read"
COPY_FROM_ROWS = 200


def upsert(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """Insert or overwrite `rows` (every concrete field present) in the model's table."""
    if not rows:
        return
    connection = connections[READ_DB]
    table = _Table.of(model)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) >= COPY_FROM_ROWS:
            _copy_upsert(cursor, table, rows)
        elif connection.vendor == "postgresql":
            values = ", ".join([table.row_placeholder] * len(rows))
            cursor.execute(
                f"INSERT INTO {table.name} ({table.columns}) VALUES {values} {table.on_conflict}",
                [value for row in rows for value in table.values(row)],
            )
        else:
            # Any other backend: one statement per row, adapted by the fields themselves.
            cursor.executemany(
                f"INSERT INTO {table.name} ({table.columns}) VALUES {table.row_placeholder} "
                f"{table.on_conflict}",
                [table.prepared(row, connection) for row in rows],
            )


def _copy_upsert(cursor, table: "_Table", rows: Sequence[dict[str, Any]]) -> None:
    staging = f"staging_{table.plain_name}"
    # A temporary table lives as long as the connection; its rows only until the insert.
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
        f"(LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    with cursor.cursor.copy(f"COPY {staging} ({table.columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(table.values(row))
    cursor.execute(
        f"INSERT INTO {table.name} ({table.columns}) SELECT {table.columns} FROM {staging} "
        f"{table.on_conflict}; TRUNCATE {staging}"
    )


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
        self._attnames = [f.attname for f in self.fields]
        self._json = {f.attname for f in self.fields if isinstance(f, models.JSONField)}

    @staticmethod
    @cache
    def of(model: type[models.Model]) -> "_Table":
        return _Table(model)

    def values(self, row: dict[str, Any]) -> list[Any]:
        """The row's values in column order; JSON as text, which PostgreSQL parses."""
        return [_json(row[name]) if name in self._json else row[name] for name in self._attnames]

    def prepared(self, row: dict[str, Any], connection) -> list[Any]:
        return [
            _json(row[field.attname])
            if field.attname in self._json
            else field.get_db_prep_save(row[field.attname], connection)
            for field in self.fields
        ]


def _json(value: Any) -> str:
    return json.dumps(value, default=_amount)


def _amount(value: Any) -> str:
    # Amounts summed in memory are Decimals; the read models store them as strings.
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
