"""Retry parked streams: a stream's parked events applied again, in order, when due.

The retry holds the projection's checkpoint lock, like its runners (every partition's
runner kept out), so a stream's events always apply in order.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from django.db import DatabaseError, transaction

from eventlog import store

from . import parking, partitions
from .checkpoints import checkpoint_lock
from .models import ParkedStream
from .parking import Failure
from .projectors import PROJECTORS, HandlerFailed, Projector, Recorded
from .runner import READ_DB, TRANSIENT_ERRORS, projection_names


@dataclass
class RetryOutcome:
    """What a retry of parked streams did."""

    applied: list[UUID] = field(default_factory=list)  # streams applied and un-parked
    failed: list[str] = field(default_factory=list)  # "stream: error" of those still parked

    def summary(self) -> str:
        text = f"{len(self.applied)} stream(s) applied"
        if self.failed:
            text += f", {len(self.failed)} still parked: " + "; ".join(self.failed[:5])
        return text


def parked_retry(
    name: str, *, force: bool = False, stream_ids: Sequence[UUID] | None = None
) -> RetryOutcome:
    """Retry the projection's parked streams that are due (all, if forced), in stream order.

    Under the checkpoint lock (every partition's runner kept out), each stream's parked
    events up to the checkpoint (its partition's) apply in order; a stream that applies
    whole is un-parked (its later events flow with the rest), one that fails again keeps
    the events before the failure and waits longer.
    """
    projector = PROJECTORS[projection_names([name])[0]]
    outcome = RetryOutcome()
    with transaction.atomic(using=READ_DB):
        checkpoint = checkpoint_lock(name, create=False)
        if checkpoint is None:
            return outcome
        due = [
            parked
            for parked in parking.parked_due(name, force=force)
            if stream_ids is None or parked.stream_id in stream_ids
        ]
        applied = partitions.stream_keys(name, [parked.stream_id for parked in due], checkpoint)
        for parked in due:
            _parked_stream_retry(projector, parked, applied[parked.stream_id], outcome)
    return outcome


def _parked_stream_retry(
    projector: type[Projector], parked: ParkedStream, upto: tuple[int, int], outcome: RetryOutcome
) -> None:
    # A stream's positions grow with its versions; its partition's key bounds it.
    events = [
        e
        for e in store.read_stream(parked.stream_id)
        if parked.position <= e.position and e.feed_key <= upto
    ]
    try:
        with transaction.atomic(using=READ_DB):
            _apply_stream(projector, events)
    except (HandlerFailed, DatabaseError) as exc:
        if isinstance(exc, TRANSIENT_ERRORS):
            raise
        index = exc.index if isinstance(exc, HandlerFailed) else 0
        error = exc.error if isinstance(exc, HandlerFailed) else exc
        if index:
            with transaction.atomic(using=READ_DB):
                _apply_stream(projector, events[:index])
        parking.parked_failed_again(parked, Failure(events[index], error))
        outcome.failed.append(f"{parked.stream_id}: {type(error).__name__}: {error}")
        return
    parked.delete()
    outcome.applied.append(parked.stream_id)


def _apply_stream(projector: type[Projector], events: Sequence[Recorded]) -> None:
    # Late events of one stream: no projection snapshot is retaken for positions passed.
    projector().apply(events)
