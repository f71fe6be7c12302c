"""Append events to a stream and read them back, by stream or by global position."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

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


@dataclass(frozen=True)
class RecordedEvent:
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
    with transaction.atomic(using=WRITE_DB):
        _serialise_appends()
        current = _current_version(stream_id)
        if current != expected_version:
            raise ConcurrencyError(stream_id, expected_version, current)
        now = timezone.now()
        rows = [
            Event(
                stream_type=stream_type,
                stream_id=stream_id,
                version=expected_version + offset,
                type=event.type,
                data=event.data,
                metadata=metadata or {},
                recorded_at=now,
            )
            for offset, event in enumerate(events, start=1)
        ]
        try:
            with transaction.atomic(using=WRITE_DB):
                Event.objects.using(WRITE_DB).bulk_create(rows)
        except IntegrityError:
            # The unique (stream_id, version) constraint is the last line of defence.
            raise ConcurrencyError(stream_id, expected_version) from None
    return [_recorded(row) for row in rows]


def read_stream(stream_id: UUID) -> list[RecordedEvent]:
    """Return every event of a stream, in version order."""
    rows = (
        Event.objects.using(WRITE_DB)
        .filter(stream_id=stream_id)
        .order_by("version")
        .values_list(*ROW_FIELDS)
    )
    return [RecordedEvent(*row) for row in rows]


def read_all(after_position: int = 0, limit: int = 1000) -> list[tuple]:
    """Return up to `limit` plain rows (ROW_FIELDS order) with position > after_position."""
    return list(
        Event.objects.using(WRITE_DB)
        .filter(position__gt=after_position)
        .order_by("position")
        .values_list(*ROW_FIELDS)[:limit]
    )


def head_position() -> int:
    """Return the highest committed position (0 for an empty log)."""
    return Event.objects.using(WRITE_DB).aggregate(head=Max("position"))["head"] or 0


def _current_version(stream_id: UUID) -> int:
    found = Event.objects.using(WRITE_DB).filter(stream_id=stream_id).aggregate(v=Max("version"))
    return found["v"] or 0


def _serialise_appends() -> None:
    connection = connections[WRITE_DB]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK_KEY])
    # SQLite: transactions start IMMEDIATE (see settings), so writers are already serial.


def _recorded(row: Event) -> RecordedEvent:
    return RecordedEvent(*(getattr(row, name) for name in ROW_FIELDS))
