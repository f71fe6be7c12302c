"""Write a partition's changes to rows other partitions change too, as commutative merges.

A partition's runner reads the rows a batch touches without a lock, applies the batch in
memory, and writes only what the batch changed, merged into whatever the row holds by
then: counts and amounts added (`"add"`), {currency: amount} maps added per key
(`"add_map"`), instants kept at the latest (`"max"`); other columns are set when the row
is made. Row locks are taken by these writes only, at the end of the batch, in key order:
runners of other partitions wait for each other only from there to their commit.

Why adding is exact: every stream lives in one partition, applied in order, so what a
batch adds for a stream completes what earlier batches added for it; and a row a batch
did not find is one none of its streams added to yet, so its first write (an INSERT
that may meet another partition's) never makes a count negative. PostgreSQL only: SQLite's
writers take turns, and its runners write rows whole.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import connections, models

from .upsert import READ_DB, _json, _Table, upsert

ADD, ADD_MAP, MAX = "add", "add_map", "max"
Row = dict[str, Any]


def _merged(kind: str, column: str, old: str, new: str) -> str:
    """SQL of a column merged from its stored value (`old`) and the batch's (`new`)."""
    if kind == ADD:
        return f'{old}."{column}" + {new}."{column}"'
    if kind == MAX:
        return f'GREATEST({old}."{column}", {new}."{column}")'
    # Amounts are decimal strings; numeric keeps their two places when they are added.
    o, n = f'{old}."{column}"', f'{new}."{column}"'
    return (
        f"(SELECT COALESCE(jsonb_object_agg(k, (COALESCE({o} ->> k, '0')::numeric "
        f"+ COALESCE({n} ->> k, '0')::numeric)::text), '{{}}'::jsonb) "
        f"FROM (SELECT jsonb_object_keys({o}) UNION SELECT jsonb_object_keys({n})) AS keys(k))"
    )


def difference(kind: str, before: Any, after: Any) -> Any:
    """What a batch changed in one column, in the terms `_merged` adds back."""
    if kind == ADD:
        return after - before
    if kind == ADD_MAP:
        return {key: Decimal(value) - Decimal(before.get(key, 0)) for key, value in after.items()}
    return after  # MAX: the latest the batch saw


def merge_write(
    model: type[models.Model],
    merges: dict[str, str],
    changes: Sequence[tuple[Row | None, Row]],
) -> None:
    """Write (row as read or None if it was missing, row after the batch) pairs."""
    table = _Table.of(model)
    made = [after for before, after in changes if before is None]
    found = [(before, after) for before, after in changes if before is not None]
    if made:
        _insert_merging(model, table, merges, made)
    if found:
        _update_merging(model, table, merges, found)


def _insert_merging(model, table: "_Table", merges: dict[str, str], rows: list[Row]) -> None:
    # A row another partition made meanwhile gets this batch's values merged in.
    updates = ", ".join(
        f'"{column}" = {_merged(kind, column, table.name, "EXCLUDED")}'
        for column, kind in merges.items()
    )
    on_conflict = f'ON CONFLICT ("{model._meta.pk.column}") DO UPDATE SET {updates}'
    upsert(model, rows, on_conflict=on_conflict)


def _update_merging(model, table: "_Table", merges: dict[str, str], pairs) -> None:
    meta, connection = model._meta, connections[READ_DB]
    pk = meta.pk
    fields = [pk, *(meta.get_field(column) for column in merges)]
    typed = ", ".join(f"%s::{field.db_type(connection)}" for field in fields)
    values, params = [], []
    for before, after in sorted(pairs, key=lambda pair: str(pair[1][pk.attname])):
        values.append(f"({typed})")
        params.append(after[pk.attname])
        for column, kind in merges.items():
            change = difference(kind, before[column], after[column])
            params.append(_json(change) if kind == ADD_MAP else change)
    names = ", ".join(f'"{field.column}"' for field in fields)
    sets = ", ".join(
        f'"{column}" = {_merged(kind, column, table.name, "change")}'
        for column, kind in merges.items()
    )
    with connection.cursor() as cursor:
        # Row locks in key order first: every runner takes them alike (no deadlock).
        cursor.execute(
            f'SELECT 1 FROM {table.name} WHERE "{pk.column}" = ANY(%s) '
            f'ORDER BY "{pk.column}" FOR UPDATE',
            [[after[pk.attname] for _, after in pairs]],
        )
        cursor.execute(
            f"UPDATE {table.name} SET {sets} FROM (VALUES {', '.join(values)}) "
            f'AS change({names}) WHERE {table.name}."{pk.column}" = change."{pk.column}"',
            params,
        )


def copied(row: Row, merges: dict[str, str]) -> Row:
    """A copy of a row as read, its maps copied too (handlers change them in place)."""
    copy = dict(row)
    for column, kind in merges.items():
        if kind == ADD_MAP:
            copy[column] = dict(row[column])
    return copy
