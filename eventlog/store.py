"""Append events to a stream and read them back, by stream or by global position."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from .recorders import recorder_for
from .recorders.base import ROW_FIELDS, ConcurrencyError, NewEvent, RecordedEvent
from .recorders.postgresql import APPEND_LOCK_KEY

__all__ = [
    "APPEND_LOCK_KEY",
    "ROW_FIELDS",
    "WRITE_DB",
    "ConcurrencyError",
    "NewEvent",
    "RecordedEvent",
    "append",
    "head_position",
    "read_all",
    "read_stream",
]

WRITE_DB = "default"


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
    return recorder_for(WRITE_DB).append(
        stream_type=stream_type,
        stream_id=stream_id,
        expected_version=expected_version,
        events=events,
        metadata=metadata,
    )


def read_stream(stream_id: UUID, after_version: int = 0) -> list[RecordedEvent]:
    """Return the stream's events with version > after_version (all by default), in order."""
    return recorder_for(WRITE_DB).read_stream(stream_id, after_version)


def read_all(
    after_position: int = 0, limit: int = 1000, *, metadata: bool = True
) -> list[RecordedEvent]:
    """Return up to `limit` events with position > after_position, in position order."""
    return recorder_for(WRITE_DB).read_all(after_position, limit, metadata=metadata)


def head_position() -> int:
    """Return the highest committed position (0 for an empty log)."""
    return recorder_for(WRITE_DB).head_position()
