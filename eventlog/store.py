"""Append events to a stream and read them back, by stream or by global position."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import psycopg
from django.db import IntegrityError, connections, transaction
from django.db.models import Max
from django.utils import timezone

from .models import Event

WRITE_DB = "default"

# Key of the transaction-scoped advisory lock that serialises appends on PostgreSQL.
# Holding it from the INSERT to the COMMIT makes positions commit in increasing
# order, so a reader that has seen position p will never see a smaller one appear.
APPEND_LOCK_KEY = 7_305_198_841


class ConcurrencyError(Exception):
    """The stream is not at the version the caller expected."""

    def __init__(self, stream_id: UUID, expected: int, actual: int | None = None) -> None:
        found = "another version" if actual is None else f"version {actual}"
        super().__init__(f"Stream {stream_id} expected at version {expected}, found {found}.")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended."""

    type: str
    data: dict[str, Any]


class RecordedEvent(NamedTuple):
    """An event as the log holds it."""

    position: int
    stream_type: str
    stream_id: UUID
    version: int
    type: str
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime


ROW_FIELDS = (
    "position",
    "stream_type",
    "stream_id",
    "version",
    "type",
    "data",
    "metadata",
    "recorded_at",
)


def append(
    *,
    stream_type: str,
    stream_id: UUID,
    expected_version: int,
    events: Sequence[NewEvent],
    metadata: dict[str, Any] | None = None,
) -> list[RecordedEvent]:
    """Append events to a stream that must be at `expected_version`, in one transaction.

    Raise ConcurrencyError if another writer got there first. Call it inside the
    caller's `transaction.atomic()` to commit other rows together with the events.
    """
    if not events:
        raise ValueError("append() needs at least one event.")
    now = timezone.now()
    rows = [
        (stream_type, stream_id, expected_version + n, e.type, e.data, metadata or {}, now)
        for n, e in enumerate(events, start=1)
    ]
    # No savepoint: on failure the caller's whole transaction must roll back anyway.
    with transaction.atomic(using=WRITE_DB, savepoint=False):
        connection = connections[WRITE_DB]
        with connection.cursor() as cursor:
            try:
                positions = _insert_if_at_version(cursor, connection, rows, expected_version)
            except IntegrityError:
                # The unique (stream_id, version) constraint is the last line of defence.
                raise ConcurrencyError(stream_id, expected_version) from None
    # Raised outside the block: nothing was written, the caller's transaction stays usable.
    if len(positions) != len(rows):
        raise ConcurrencyError(stream_id, expected_version, _current_version(stream_id))
    return [RecordedEvent(position, *row) for position, row in zip(positions, rows, strict=True)]


def _insert_if_at_version(cursor, connection, rows: list[tuple], expected_version: int) -> list:
    """Take the append lock, then INSERT the rows only if the stream is at expected_version.

    Return the new rows' positions. The check and the insert are one statement, so on
    PostgreSQL they share the snapshot taken after the append lock was granted.
    """
    fields = [Event._meta.get_field(name) for name in ROW_FIELDS[1:]]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(Event._meta.db_table)
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    params = [
        f.get_db_prep_save(value, connection)
        for row in rows
        for f, value in zip(fields, row, strict=True)
    ]
    stream_id = fields[1].get_db_prep_save(rows[0][1], connection)
    version = connection.ops.quote_name("version")
    # VALUES names its columns column1, column2, ... on both PostgreSQL and SQLite.
    names = ", ".join(f"column{n}" for n in range(1, len(fields) + 1))
    insert = (
        f"INSERT INTO {table} ({columns}) "
        f"SELECT {names} FROM (VALUES {placeholders}) AS new_events "
        f"WHERE (SELECT COALESCE(MAX({version}), 0) FROM {table} WHERE stream_id = %s) = %s "
        f"ORDER BY column3 RETURNING position"
    )
    params = [*params, stream_id, expected_version]
    if connection.vendor != "postgresql":
        cursor.execute(insert, params)  # SQLite: IMMEDIATE transactions serialise writers
    elif isinstance(cursor.cursor, psycopg.ClientCursor):
        # Django's default client-side binding sends both statements in one round trip;
        # each still runs with its own snapshot, the INSERT's taken after the lock.
        cursor.execute(f"{_LOCK_SQL}; {insert}", [APPEND_LOCK_KEY, *params])
        cursor.nextset()
    else:
        cursor.execute(_LOCK_SQL, [APPEND_LOCK_KEY])
        cursor.execute(insert, params)
    return sorted(row[0] for row in cursor.fetchall())


_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"


def read_stream(stream_id: UUID) -> list[RecordedEvent]:
    """Return every event of a stream, in version order."""
    rows = (
        Event.objects.using(WRITE_DB)
        .filter(stream_id=stream_id)
        .order_by("version")
        .values_list(*ROW_FIELDS)
    )
    return [RecordedEvent(*row) for row in rows]


def read_all(
    after_position: int = 0, limit: int = 1000, *, metadata: bool = True
) -> list[RecordedEvent]:
    """Return up to `limit` events with position > after_position, in position order.

    Projections read the whole log through here and never look at the metadata, so
    they pass `metadata=False` and get None there instead of decoding it.
    """
    connection = connections[WRITE_DB]
    if connection.vendor == "postgresql":
        return _read_all_binary(connection, after_position, limit, metadata)
    rows = (
        Event.objects.using(WRITE_DB)
        .filter(position__gt=after_position)
        .order_by("position")
        .values_list(*ROW_FIELDS)[:limit]
    )
    if metadata:
        return [RecordedEvent._make(row) for row in rows]
    return [RecordedEvent(*row[:6], None, row[7]) for row in rows]


def _read_all_binary(connection, after_position: int, limit: int, metadata: bool) -> list:
    # A plain psycopg cursor with binary results: uuid and timestamptz are decoded by
    # psycopg's C loaders, not Django's text ones. JSON comes as text and goes straight
    # to the C scanner: jsonb's output is one value without surrounding whitespace.
    meta = "metadata::text" if metadata else "NULL"
    query = (
        "SELECT position, stream_type, stream_id, version, type, data::text, "
        f"{meta}, recorded_at FROM {Event._meta.db_table} "
        "WHERE position > %s ORDER BY position LIMIT %s"
    )
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(query, [after_position, limit], binary=True)
        rows = cursor.fetchall()
    return [
        RecordedEvent(
            position,
            kind,
            stream,
            version,
            type_,
            _scan(data, 0)[0],
            _scan(meta, 0)[0] if metadata else None,
            at,
        )
        for position, kind, stream, version, type_, data, meta, at in rows
    ]


_scan = json.JSONDecoder().scan_once


def head_position() -> int:
    """Return the highest committed position (0 for an empty log)."""
    return Event.objects.using(WRITE_DB).aggregate(head=Max("position"))["head"] or 0


def _current_version(stream_id: UUID) -> int:
    found = Event.objects.using(WRITE_DB).filter(stream_id=stream_id).aggregate(v=Max("version"))
    return found["v"] or 0
