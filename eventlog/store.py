"""Append events to a stream and read them back, by stream or by global position."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from .metrics import events_counted
from .recorders import recorder_for
from .recorders.base import (
    ROW_FIELDS,
    ConcurrencyError,
    FeedPage,
    NewEvent,
    RecordedEvent,
    stream_partition,
)

__all__ = [
    "ROW_FIELDS",
    "WRITE_DB",
    "ConcurrencyError",
    "FeedPage",
    "NewEvent",
    "RecordedEvent",
    "append",
    "feed_after",
    "feed_key_of",
    "head_position",
    "horizon_holder",
    "position_applied",
    "read_all",
    "read_feed",
    "read_keys",
    "read_partition",
    "read_stream",
    "stream_partition",
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
    recorded = recorder_for(WRITE_DB).append(
        stream_type=stream_type,
        stream_id=stream_id,
        expected_version=expected_version,
        events=events,
        metadata=metadata,
    )
    # Counted once the rows are in (a lost race raised above). Not on commit: a transaction
    # that fails after its append (rare: the commit itself) is counted all the same, and a
    # command's transaction keeps its one on-commit callback, the nudge.
    events_counted(event.type for event in recorded)
    return recorded


def read_stream(stream_id: UUID, after_version: int = 0) -> list[RecordedEvent]:
    """Return the stream's events with version > after_version (all by default), in order."""
    return recorder_for(WRITE_DB).read_stream(stream_id, after_version)


def read_all(
    after_position: int = 0, limit: int = 1000, *, metadata: bool = True
) -> list[RecordedEvent]:
    """Return up to `limit` events with position > after_position, in position order."""
    return recorder_for(WRITE_DB).read_all(after_position, limit, metadata=metadata)


def read_feed(
    after: tuple[int, int] = (0, 0), limit: int = 1000, *, metadata: bool = False
) -> list[RecordedEvent]:
    """Return up to `limit` events of the projections' feed after the key `after`.

    The feed is in (tx_id, position) order and holds only events that nothing committing
    later can precede (see eventlog.recorders.postgresql): what projections read.
    """
    return recorder_for(WRITE_DB).read_feed(after, limit, metadata=metadata)


def read_keys(
    after: tuple[int, int], upto: tuple[int, int], limit: int = 1000
) -> list[RecordedEvent]:
    """Return up to `limit` committed events with feed keys after < key <= upto, in order."""
    return recorder_for(WRITE_DB).read_keys(after, upto, limit)


def read_partition(
    after: tuple[int, int],
    limit: int,
    partition: int,
    count: int,
    upto: tuple[int, int] | None = None,
) -> FeedPage:
    """Return up to `limit` feed events after the key `after` (and up to `upto`) of the
    streams in one partition of `count` (`stream_partition`): a partitioned projection's
    read. `through` says how far it got (the other partitions' events included)."""
    return recorder_for(WRITE_DB).read_partition(after, limit, partition, count, upto)


def horizon_holder() -> dict | None:
    """Return the oldest open transaction keeping committed events out of the feed, if any:
    what the projections' lag waits for (pid, application_name, client_addr, state,
    xact_start, query)."""
    return recorder_for(WRITE_DB).horizon_holder()


def feed_after(key: tuple[int, int]) -> bool:
    """Tell whether the feed holds an event after the key."""
    return bool(read_feed(key, 1))


def feed_key_of(position: int) -> tuple[int, int] | None:
    """Return the feed key of the committed event at `position`, or None if there is none."""
    return recorder_for(WRITE_DB).feed_key_of(position)


def position_applied(key: tuple[int, int]) -> int:
    """Return the highest position p such that every committed event at or below p stands
    at or before the feed key: how far a reader that applied the feed up to it has got,
    in positions (the read-your-writes token's terms)."""
    return recorder_for(WRITE_DB).position_applied(key)


def head_position() -> int:
    """Return the highest committed position (0 for an empty log)."""
    return recorder_for(WRITE_DB).head_position()
