"""The recorder interface every backend implements, and the records it takes and gives."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

from django.db import IntegrityError, connections, transaction
from django.db.models import Max
from django.utils import timezone

from ..models import Event


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
    schema_version: int = 1  # the shape of `data`, as its event class writes it now


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
    # Last, with defaults, so positional constructions from before them keep working.
    schema_version: int = 1
    # The recording transaction's id (0 on SQLite): with the position, the feed's order.
    tx_id: int = 0

    @property
    def feed_key(self) -> tuple[int, int]:
        """Where the event stands in the projections' feed: (transaction id, position)."""
        return (self.tx_id, self.position)


ROW_FIELDS = RecordedEvent._fields


def stream_partition(stream_id: UUID, count: int) -> int:
    """Return the partition of a stream among `count`: its id's last 32 bits modulo count.

    Stream ids are random (uuid4) or hashes (uuid5), so their low bits spread evenly.
    """
    return (stream_id.int & 0xFFFFFFFF) % count


class FeedPage(NamedTuple):
    """A page of one partition's feed (`Recorder.read_partition`)."""

    events: list[RecordedEvent]  # the partition's, in feed order
    # Every feed event of the partition up to this key is in `events` or before the page.
    through: tuple[int, int]
    complete: bool  # the partition's feed was read to its end


# The range of integers every recorder reads back exactly: orjson, which decodes the
# PostgreSQL log, silently turns an integer beyond 64 bits into a float.
INT_RANGE = range(-(2**63), 2**63)


class Recorder(ABC):
    """Append events to streams and read them back, on the database of one alias.

    A subclass per database backend supplies the guarded INSERT and the fast page
    read; everything else is shared, so every backend keeps one contract.
    """

    # Whether one append statement outside a transaction is atomic and correctly ordered
    # on its own (PostgreSQL's autocommit); SQLite's needs its IMMEDIATE transaction.
    statement_is_atomic = False

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def append(
        self,
        *,
        stream_type: str,
        stream_id: UUID,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: dict[str, Any] | None = None,
    ) -> list[RecordedEvent]:
        """Append events to a stream that must be at `expected_version`, in one transaction.

        Raise ConcurrencyError if another writer got there first, ValueError for no
        events or an integer outside 64 bits. Call it inside the caller's
        `transaction.atomic()` to commit other rows together with the events.
        """
        if not events:
            raise ValueError("append() needs at least one event.")
        metadata = metadata or {}
        for document in (metadata, *(e.data for e in events)):
            _check_integers(document)
        rows = [
            (
                stream_type,
                stream_id,
                expected_version + n,
                e.type,
                e.data,
                metadata,
                e.schema_version,
            )
            for n, e in enumerate(events, start=1)
        ]
        connection = connections[self.alias]
        # The append is one statement. Outside a transaction, where the backend keeps one
        # statement atomic, it runs alone (autocommit: one round trip, not three); inside
        # one, without a savepoint: on failure the caller's transaction must roll back.
        alone = self.statement_is_atomic and connection.get_autocommit()
        with nullcontext() if alone else transaction.atomic(using=self.alias, savepoint=False):
            sql, params = self._guarded_insert(connection, rows, expected_version)
            with connection.cursor() as cursor:
                try:
                    returned = sorted(self._insert(cursor, sql, params))
                except IntegrityError:
                    # The unique (stream_id, version) constraint is the last line of defence.
                    raise ConcurrencyError(stream_id, expected_version) from None
        # Raised outside the block: nothing was written, the caller's transaction stays usable.
        if len(returned) != len(rows):
            raise ConcurrencyError(stream_id, expected_version, self._version(stream_id))
        return [
            RecordedEvent(
                position,
                *row[:6],
                recorded_at=_aware(recorded_at),
                schema_version=row[6],
                tx_id=tx_id,
            )
            for (position, recorded_at, tx_id), row in zip(returned, rows, strict=True)
        ]

    @abstractmethod
    def _insert(self, cursor, sql: str, params: list) -> list[tuple]:
        """Run the guarded INSERT; return its RETURNING rows (position, recorded_at, tx_id)."""

    @abstractmethod
    def _clock(self, connection, table: str) -> tuple[str, list]:
        """Return the SQL (and its parameters) of the instant the append is recorded at."""

    def read_stream(self, stream_id: UUID, after_version: int = 0) -> list[RecordedEvent]:
        """Return the stream's events with version > after_version, in version order."""
        rows = (
            Event.objects.using(self.alias)
            .filter(stream_id=stream_id, version__gt=after_version)
            .order_by("version")
            .values_list(*ROW_FIELDS)
        )
        return [RecordedEvent._make(row) for row in rows]

    @abstractmethod
    def read_all(
        self, after_position: int = 0, limit: int = 1000, *, metadata: bool = True
    ) -> list[RecordedEvent]:
        """Return up to `limit` events with position > after_position, in position order."""

    @abstractmethod
    def read_feed(
        self, after: tuple[int, int] = (0, 0), limit: int = 1000, *, metadata: bool = False
    ) -> list[RecordedEvent]:
        """Return up to `limit` events of the projections' feed after `after`, in its order.

        The feed is every event that can no longer be preceded by one committing later,
        in (tx_id, position) order: a reader that has applied the feed up to a key has
        seen every event that will ever stand at or before it. Projections never look
        at the metadata: by default they get None there instead of decoding it.
        """

    @abstractmethod
    def read_keys(
        self, after: tuple[int, int], upto: tuple[int, int], limit: int = 1000
    ) -> list[RecordedEvent]:
        """Return up to `limit` committed events with feed keys after < key <= upto, in
        feed order (no horizon: for keys a reader has already passed, or a past instant)."""

    def read_partition(
        self,
        after: tuple[int, int],
        limit: int,
        partition: int,
        count: int,
        upto: tuple[int, int] | None = None,
    ) -> FeedPage:
        """Return up to `limit` feed events after `after` (up to `upto`, if given) of the
        streams in one partition of `count` (`stream_partition`), and how far they reach."""
        found = self.read_feed(after, limit) if upto is None else self.read_keys(after, upto, limit)
        mine = [e for e in found if stream_partition(e.stream_id, count) == partition]
        through = found[-1].feed_key if found else after
        return FeedPage(mine, through, len(found) < limit)

    def feed_key_of(self, position: int) -> tuple[int, int] | None:
        """Return the feed key of the committed event at `position`, or None."""
        found = Event.objects.using(self.alias).filter(position=position)
        tx_id = found.values_list("tx_id", flat=True).first()
        return None if tx_id is None else (tx_id, position)

    def position_applied(self, key: tuple[int, int]) -> int:
        """Return the highest position at or below which every committed event stands at or
        before the feed key (the head, if every committed event does; 0 before any)."""
        if key == (0, 0):
            return 0
        connection = connections[self.alias]
        table = connection.ops.quote_name(Event._meta.db_table)
        with connection.cursor() as cursor:
            # The row comparison walks the (tx_id, position) index from the key on.
            cursor.execute(
                f"SELECT MIN(position) FROM {table} WHERE (tx_id, position) > (%s, %s)", key
            )
            (first_after,) = cursor.fetchone()
        return self.head_position() if first_after is None else first_after - 1

    def head_position(self) -> int:
        """Return the highest committed position (0 for an empty log)."""
        found = Event.objects.using(self.alias).aggregate(head=Max("position"))
        return found["head"] or 0

    def _version(self, stream_id: UUID) -> int:
        stream = Event.objects.using(self.alias).filter(stream_id=stream_id)
        return stream.aggregate(v=Max("version"))["v"] or 0

    def _guarded_insert(
        self, connection, rows: list[tuple], expected_version: int
    ) -> tuple[str, list]:
        """Build one INSERT of the rows that inserts nothing unless the stream is at the version.

        The check and the insert are one statement, so they share one snapshot; two
        appends at one version both pass it, and the unique (stream_id, version)
        constraint refuses the second when the first commits.
        """
        # Every column but the position (the sequence's), recorded_at (the clock's) and
        # tx_id (the column default's).
        given = [name for name in ROW_FIELDS[1:] if name not in ("recorded_at", "tx_id")]
        fields = [Event._meta.get_field(name) for name in given]
        recorded_at = Event._meta.get_field("recorded_at")
        columns = ", ".join(connection.ops.quote_name(f.column) for f in [*fields, recorded_at])
        table = connection.ops.quote_name(Event._meta.db_table)
        clock, clock_params = self._clock(connection, table)
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
        sql = (
            f"INSERT INTO {table} ({columns}) "
            f"SELECT {names}, {clock} FROM (VALUES {placeholders}) AS new_events "
            f"WHERE (SELECT COALESCE(MAX({version}), 0) FROM {table} WHERE stream_id = %s) = %s "
            f"ORDER BY column3 RETURNING position, {recorded_at.column}, tx_id"
        )
        return sql, [*clock_params, *params, stream_id, expected_version]


def _aware(value: datetime | str) -> datetime:
    """Return a RETURNING row's recorded_at as an aware UTC datetime (SQLite gives text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _check_integers(value: Any) -> None:
    """Raise ValueError if the JSON document holds an integer outside INT_RANGE."""
    if isinstance(value, dict):
        for item in value.values():
            _check_integers(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_integers(item)
    elif isinstance(value, int) and value not in INT_RANGE:
        raise ValueError(f"{value} does not fit in 64 bits: store it as a string.")
