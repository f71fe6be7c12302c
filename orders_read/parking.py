"""Per-stream parking: the event a projection failed on, and the rest of its stream, set aside.

When a handler fails on an event, that event and every later event of the same stream
are parked for that projection: one ParkedStream row records the first of them (its
position, the error and traceback, the attempts, the next retry). The projection goes
on with every other stream; events of a parked stream are passed over until a retry
applies them, in stream order, and removes the row. Nothing is ever skipped: a
parked stream's events stay in the log and are read again by the retry.
"""

import logging
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from eventlog.store import RecordedEvent

from .models import ParkedStream

logger = logging.getLogger(__name__)

READ_DB = "read"
MAX_BACKOFF_SECONDS = 300
ERROR_TEXT_LIMIT = 2000
TRACEBACK_TEXT_LIMIT = 20_000


def backoff_seconds(attempts: int) -> int:
    """Return how long to wait before retrying after `attempts` failures in a row."""
    return min(2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


@dataclass(frozen=True)
class Failure:
    """A projector failed on `event` with `error`."""

    event: RecordedEvent
    error: BaseException

    @property
    def message(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"[:ERROR_TEXT_LIMIT]

    @property
    def traceback(self) -> str:
        return "".join(traceback.format_exception(self.error))[-TRACEBACK_TEXT_LIMIT:]


class StreamFailed(Exception):
    """A projector failed on one event; the caller rolls back and parks its stream."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def parked_positions(label: str) -> dict[UUID, int]:
    """Return {stream id: first parked position} of the projection's parked streams.

    There are few (a stream parks on a bug), so all of them, not a lookup per batch's
    streams: a rebuild's batch names tens of thousands of streams.
    """
    found = ParkedStream.objects.using(READ_DB).filter(projection=label)
    return dict(found.values_list("stream_id", "position"))


def without_parked(label: str, events: Sequence[RecordedEvent]) -> list[RecordedEvent]:
    """Return the events that are not held back by a parked stream of this projection."""
    parked = parked_positions(label)
    if not parked:
        return list(events)
    return [e for e in events if e.stream_id not in parked or e.position < parked[e.stream_id]]


def park(label: str, failure: Failure) -> None:
    """Park the failing event's stream from that event on (in the caller's transaction)."""
    event, now = failure.event, timezone.now()
    ParkedStream.objects.using(READ_DB).update_or_create(
        projection=label,
        stream_id=event.stream_id,
        defaults={
            "position": event.position,
            "version": event.version,
            "event_type": event.type,
            "error": failure.message,
            "traceback": failure.traceback,
            "attempts": 1,
            "parked_at": now,
            "retry_at": now + timedelta(seconds=backoff_seconds(1)),
        },
    )
    logger.error(
        "Projection %s parked stream %s at position %d (%s): %s",
        label,
        event.stream_id,
        event.position,
        event.type,
        failure.message,
    )


def parked_failed_again(parked: ParkedStream, failure: Failure) -> None:
    """Record another failed retry of a parked stream, and when to try again."""
    attempts, now = parked.attempts + 1, timezone.now()
    ParkedStream.objects.using(READ_DB).filter(pk=parked.pk).update(
        position=failure.event.position,
        version=failure.event.version,
        event_type=failure.event.type,
        error=failure.message,
        traceback=failure.traceback,
        attempts=attempts,
        retry_at=now + timedelta(seconds=backoff_seconds(attempts)),
    )
    logger.error(
        "Projection %s: parked stream %s failed again at position %d (attempt %d): %s",
        parked.projection,
        parked.stream_id,
        failure.event.position,
        attempts,
        failure.message,
    )


def parked_relabel(old: str, new: str) -> None:
    """Replace the parked streams recorded under `new` with those under `old` (a swap)."""
    parked = ParkedStream.objects.using(READ_DB)
    with transaction.atomic(using=READ_DB):
        parked.filter(projection=new).delete()
        parked.filter(projection=old).update(projection=new)


def parked_reset(label: str) -> None:
    ParkedStream.objects.using(READ_DB).filter(projection=label).delete()


def parked_due(label: str, *, force: bool = False) -> list[ParkedStream]:
    """Return the projection's parked streams whose retry time has come (all, if forced)."""
    found = ParkedStream.objects.using(READ_DB).filter(projection=label)
    if not force:
        found = found.filter(retry_at__lte=timezone.now())
    return list(found.order_by("position"))
