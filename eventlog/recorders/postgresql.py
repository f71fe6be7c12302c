"""The PostgreSQL recorder: appends serialised by an advisory lock, pages read in binary."""

import orjson
import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from ..models import Event
from .base import RecordedEvent, Recorder

# Key of the transaction-scoped advisory lock that serialises appends on PostgreSQL.
# Holding it from the INSERT to the COMMIT makes positions commit in increasing
# order, so a reader that has seen position p will never see a smaller one appear.
APPEND_LOCK_KEY = 7_305_198_841

_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"


class PostgreSQLRecorder(Recorder):
    """Record events in PostgreSQL through Django's psycopg 3 connection.

    Appends rely on Django's default client-side binding (psycopg.ClientCursor),
    which sends "lock; insert" as one round trip; server-side binding cannot run
    two statements in one execute, so it is refused here rather than half-supported.
    """

    def __init__(self, alias: str) -> None:
        super().__init__(alias)
        if connections[alias].settings_dict.get("OPTIONS", {}).get("server_side_binding") is True:
            raise ImproperlyConfigured(
                f"Database {alias!r}: the event log needs client-side binding; "
                "remove OPTIONS server_side_binding."
            )

    def _insert(self, cursor, sql: str, params: list) -> list[tuple]:
        # Each statement still runs with its own snapshot, the INSERT's taken after the lock.
        cursor.execute(f"{_LOCK_SQL}; {sql}", [APPEND_LOCK_KEY, *params])
        cursor.nextset()
        return cursor.fetchall()

    def _clock(self, connection, table: str) -> tuple[str, list]:
        # The INSERT runs after the lock is granted, so clock_timestamp() (not now(), the
        # transaction's start) is later than every committed append's; an uncorrelated
        # subquery is evaluated once, so one append's events share one instant.
        return f"(SELECT GREATEST(clock_timestamp(), MAX(recorded_at)) FROM {table})", []

    def read_all(
        self, after_position: int = 0, limit: int = 1000, *, metadata: bool = True
    ) -> list[RecordedEvent]:
        # A plain psycopg cursor with binary results: uuid and timestamptz are decoded by
        # psycopg's C loaders, not Django's text ones; JSON comes as text for orjson, which
        # beat json.loads on this read (the append refuses integers orjson cannot keep).
        meta = "metadata::text" if metadata else "NULL"
        query = (
            "SELECT position, stream_type, stream_id, version, type, data::text, "
            f"{meta}, recorded_at, schema_version FROM {Event._meta.db_table} "
            "WHERE position > %s ORDER BY position LIMIT %s"
        )
        connection = connections[self.alias]
        connection.ensure_connection()
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(query, [after_position, limit], binary=True)
            rows = cursor.fetchall()
        loads, make = orjson.loads, tuple.__new__
        # tuple.__new__ straight: the named tuple's own __new__ is a Python call per event.
        if metadata:
            return [
                make(RecordedEvent, (p, kind, s, v, t, loads(data), loads(meta), at, schema))
                for p, kind, s, v, t, data, meta, at, schema in rows
            ]
        return [
            make(RecordedEvent, (p, kind, s, v, t, loads(data), None, at, schema))
            for p, kind, s, v, t, data, _, at, schema in rows
        ]
