"""The PostgreSQL recorder: appends without a global lock, a feed ordered by transaction.

Why the projections' feed misses nothing (DESIGN §3, invariant 3; §14):

1. Every event is stamped with the id of the transaction that records it (`tx_id`, the
   column's default `pg_current_xact_id()`: the top-level id, 64 bits, never reused).
2. The feed returns only events with `tx_id` below a horizon computed in that same
   statement's snapshot: the snapshot's xmax, or the smallest id it still lists as
   running (`pg_snapshot_xip`, less those pg_stat_activity places in another database:
   `HORIZON_SQL`), at most pg_snapshot_xmin. Every transaction of this database with an
   id below it has ended, so every event the feed can return is committed (or never
   will be): the set of events below a horizon never grows afterwards.
3. The feed is read in (tx_id, position) order, and a reader keeps the key of the last
   event it applied. The horizon never moves back, and an event that becomes visible
   later belongs to a transaction that was still running when the earlier read was
   made, whose id is therefore at or above that read's horizon, above every id the
   reader has passed: it sorts after the reader's key. No event is skipped; none is
   returned twice, since keys are unique and the reader asks for keys above its own.
4. Per stream, versions stand in the feed in version order: a command reads its
   stream, then appends, and the append is the first write of its transaction (the
   idempotency record and the snapshot are written after it). So the transaction id of
   version n + 1 is assigned after version n committed, and transaction ids are
   assigned in increasing order: it is larger. The only write ever made before an
   append is a new customer's data key, and only for an order's first event, which has
   no earlier version to follow.

No writer waits for another (two appends at one version of one stream: the unique
constraint refuses the second), and a long transaction only holds the horizon back:
projections wait for it, then go on (`lag` in the admin names the backend).
"""

from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from ..models import Event
from .base import FeedPage, RecordedEvent, Recorder

# `stream_partition` in SQL: the stream id's last 32 bits.
STREAM_LOW_BITS = (
    "((get_byte(uuid_send(stream_id), 12)::bigint << 24) | (get_byte(uuid_send(stream_id), 13) "
    "<< 16) | (get_byte(uuid_send(stream_id), 14) << 8) | get_byte(uuid_send(stream_id), 15))"
)
COLUMNS = (
    "position, stream_type, stream_id, version, type, data::text, {meta}, recorded_at, "
    "schema_version, tx_id"
)
# The horizon, as the feed's reads compare it (inside their own statement, so in that
# statement's snapshot): every transaction of this database with a smaller id has ended.
# Ids are cluster-wide, and pg_snapshot_xmin would let a transaction in another database
# of the cluster (the read database, say) hold the feed back: a running id that
# pg_stat_activity places in another database is passed over. One it cannot place (it
# ended meanwhile) still counts: a wrong guess can only delay the feed.
#
# A reader inside a writing transaction of its own (a test, a command's atomic block)
# sees its own events: its own id counts as ended when no other transaction of this
# database is older. (Only there an older one that ends while the horizon is computed
# could be passed over: projections never read the feed inside a write transaction.)
# Executions of one statement after which psycopg prepares it (its own default).
PREPARE_THRESHOLD = 5
HORIZON_SQL = """(
WITH now AS (
    SELECT pg_current_snapshot() AS snap, pg_current_xact_id_if_assigned()::text::bigint AS own
), others AS (
    SELECT backend_xid::text::bigint AS xid32, datname = current_database() AS here
    FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
), running AS (
    SELECT x::text::bigint AS x FROM now, pg_snapshot_xip(now.snap) AS x
    WHERE NOT EXISTS (
        SELECT 1 FROM others WHERE NOT here AND xid32 = x::text::bigint %% 4294967296
    )
)
SELECT CASE
    WHEN own IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM running WHERE x < own)
        AND NOT EXISTS (SELECT 1 FROM others WHERE here AND xid32 < own %% 4294967296)
    THEN GREATEST(own + 1, LEAST(
        pg_snapshot_xmax(snap)::text::bigint, (SELECT MIN(x) FROM running WHERE x > own)))
    ELSE LEAST(pg_snapshot_xmax(snap)::text::bigint, (SELECT MIN(x) FROM running))
END FROM now
)"""


class PostgreSQLRecorder(Recorder):
    """Record events in PostgreSQL through Django's psycopg 3 connection.

    The log's rows are read with plain psycopg cursors in binary (Django's client-side
    binding for the append; server-side binding is refused: it is untested here).
    """

    statement_is_atomic = True

    def __init__(self, alias: str) -> None:
        super().__init__(alias)
        if connections[alias].settings_dict.get("OPTIONS", {}).get("server_side_binding") is True:
            raise ImproperlyConfigured(
                f"Database {alias!r}: the event log needs client-side binding; "
                "remove OPTIONS server_side_binding."
            )

    def _insert(self, cursor, sql: str, params: list) -> list[tuple]:
        # Server-side parameters, prepared (see _server_cursor): one statement per number
        # of events an append holds.
        with self._server_cursor() as raw:
            raw.execute(sql, params)
            return raw.fetchall()

    def _clock(self, connection, table: str) -> tuple[str, list]:
        # statement_timestamp(): one append's events share one instant, taken when it was
        # sent (not the transaction's start, which may be long before); never before the
        # last committed event's, past a clock that stepped back (an index probe).
        return f"(SELECT GREATEST(statement_timestamp(), MAX(recorded_at)) FROM {table})", []

    @contextmanager
    def _server_cursor(self) -> Iterator[psycopg.Cursor]:
        """A plain psycopg cursor on Django's connection: server-side parameters, binary
        results on request, and prepared statements (unless ORDINAL_PREPARED_STATEMENTS is
        off). Django turns them off, since its own cursors bind on the client, which never
        prepares; parsing and planning each append anew took half its time (bench item 1:
        0.48x a raw INSERT before, 0.89x after)."""
        connection = connections[self.alias]
        connection.ensure_connection()
        raw_connection = connection.connection
        if raw_connection.prepare_threshold is None and settings.ORDINAL_PREPARED_STATEMENTS:
            raw_connection.prepare_threshold = PREPARE_THRESHOLD
        with connection.wrap_database_errors, psycopg.Cursor(raw_connection) as cursor:
            yield cursor

    def read_all(
        self, after_position: int = 0, limit: int = 1000, *, metadata: bool = True
    ) -> list[RecordedEvent]:
        return self._rows(
            "WHERE position > %s ORDER BY position LIMIT %s", [after_position, limit], metadata
        )

    def read_feed(
        self, after: tuple[int, int] = (0, 0), limit: int = 1000, *, metadata: bool = False
    ) -> list[RecordedEvent]:
        # The row comparison walks the (tx_id, position) index from the key on.
        return self._rows(
            f"WHERE (tx_id, position) > (%s, %s) AND tx_id < {HORIZON_SQL} "
            "ORDER BY tx_id, position LIMIT %s",
            [*after, limit],
            metadata,
        )

    def read_keys(
        self, after: tuple[int, int], upto: tuple[int, int], limit: int = 1000
    ) -> list[RecordedEvent]:
        return self._rows(
            "WHERE (tx_id, position) > (%s, %s) AND (tx_id, position) <= (%s, %s) "
            "ORDER BY tx_id, position LIMIT %s",
            [*after, *upto, limit],
            False,
        )

    def read_partition(
        self,
        after: tuple[int, int],
        limit: int,
        partition: int,
        count: int,
        upto: tuple[int, int] | None = None,
    ) -> FeedPage:
        # The feed's end first, then the partition's events up to it: every event at or
        # before a key the feed has reached is committed for good, so the second read
        # needs no horizon, and the other partitions' rows are filtered out in SQL.
        if upto is None:
            with self._server_cursor() as cursor:
                cursor.execute(
                    f"SELECT tx_id, position FROM {Event._meta.db_table} "
                    f"WHERE tx_id < {HORIZON_SQL} ORDER BY tx_id DESC, position DESC LIMIT 1",
                    [],
                )
                end = cursor.fetchone()
            if end is None or tuple(end) <= after:
                return FeedPage([], after, True)
            upto = tuple(end)
        mine = self._rows(
            "WHERE (tx_id, position) > (%s, %s) AND (tx_id, position) <= (%s, %s) "
            f"AND {STREAM_LOW_BITS} %% %s = %s ORDER BY tx_id, position LIMIT %s",
            [*after, *upto, count, partition, limit],
            False,
        )
        if len(mine) < limit:
            return FeedPage(mine, upto, True)
        return FeedPage(mine, mine[-1].feed_key, False)

    def horizon_holder(self) -> dict | None:
        """Return the oldest transaction of this database that keeps committed events out
        of the feed (pid, application, client, state, start, query), or None."""
        with connections[self.alias].cursor() as cursor:
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {Event._meta.db_table} "
                f"WHERE tx_id >= {HORIZON_SQL})",
                [],
            )
            if not cursor.fetchone()[0]:
                return None
            cursor.execute(
                "SELECT pid, application_name, client_addr::text, state, xact_start, "
                "left(query, 200) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid() "
                "ORDER BY age(backend_xid) DESC LIMIT 1"
            )
            found = cursor.fetchone()
        if found is None:
            return None
        keys = ("pid", "application_name", "client_addr", "state", "xact_start", "query")
        return dict(zip(keys, found, strict=True))

    def _rows(self, where: str, params: list, metadata: bool) -> list[RecordedEvent]:
        # A plain psycopg cursor with binary results: uuid and timestamptz are decoded by
        # psycopg's C loaders, not Django's text ones; JSON comes as text for orjson, which
        # beat json.loads on this read (the append refuses integers orjson cannot keep).
        columns = COLUMNS.format(meta="metadata::text" if metadata else "NULL")
        query = f"SELECT {columns} FROM {Event._meta.db_table} {where}"
        with self._server_cursor() as cursor:
            cursor.execute(query, params, binary=True)
            rows = cursor.fetchall()
        loads, make = orjson.loads, tuple.__new__
        # tuple.__new__ straight: the named tuple's own __new__ is a Python call per event.
        if metadata:
            return [
                make(RecordedEvent, (p, kind, s, v, t, loads(data), loads(meta), at, sv, tx))
                for p, kind, s, v, t, data, meta, at, sv, tx in rows
            ]
        return [
            make(RecordedEvent, (p, kind, s, v, t, loads(data), None, at, sv, tx))
            for p, kind, s, v, t, data, _, at, sv, tx in rows
        ]
