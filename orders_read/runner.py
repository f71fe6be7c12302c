"""Run projections: one batch and its checkpoint advance per read-DB transaction.

A handler that fails on an event parks that event's stream for the projection
(`orders_read.parking`) and the batch is applied again without it: one bad order
holds up only itself. Parked streams are retried here too, under the same checkpoint
lock as catch-up, so a stream's events always apply in order.
"""

import logging
from collections.abc import Sequence
from typing import NamedTuple

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    transaction,
)

from eventlog import store

from . import parking, partitions
from .checkpoints import StaleCheckpoint, checkpoint_advance, checkpoint_keys, checkpoint_lock
from .models import Checkpoint
from .parking import Failure, StreamFailed
from .projectors import PROJECTORS, HandlerFailed, Projector, Recorded
from .snapshots import apply_with_snapshots

READ_DB = "read"
Key = tuple[int, int]
logger = logging.getLogger(__name__)
# Trouble with the connection or a lock, not with the data: retried as a whole.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
backoff_seconds = parking.backoff_seconds


class UnknownProjection(LookupError):
    """No projection has that name."""


class BatchRefused(Exception):
    """The database refused a batch's writes (not a transient error)."""

    def __init__(self, size: int, last_key: tuple[int, int]) -> None:
        super().__init__(f"A batch of {size} events up to position {last_key[1]} was refused.")
        self.size = size
        self.last_key = last_key


def projection_names(names: list[str] | None = None) -> list[str]:
    """Return the given projection names, checked, or every projection's name."""
    unknown = sorted(set(names or ()) - set(PROJECTORS))
    if unknown:
        raise UnknownProjection(f"Unknown projection(s): {', '.join(unknown)}.")
    return list(names) if names else list(PROJECTORS)


def projections_behind(position: int | None = None) -> list[str]:
    """Return the projections that have not applied the event at `position` (or the whole
    feed, with None) yet; a projection never built counts as behind."""
    keys = checkpoint_keys()
    if position is None:
        unbuilt = store.head_position() > 0  # on an empty log a build has nothing to do
        return [
            name
            for name in PROJECTORS
            if (unbuilt if name not in keys else store.feed_after(keys[name]))
        ]
    wanted = store.feed_key_of(position)
    if wanted is None:
        return [name for name in PROJECTORS if name not in keys]
    return [name for name in PROJECTORS if keys.get(name, (0, 0)) < wanted]


def projection_apply(
    projector: Projector, events: Sequence[Recorded], *, save: bool = True, snapshots: bool = True
) -> None:
    """Apply the events of streams not parked for the projector; raise StreamFailed.

    In the caller's transaction; on StreamFailed nothing of the batch is written, and
    the projector's rows in memory are no longer to be trusted.
    """
    events = parking.without_parked(projector.label, events)
    try:
        if snapshots:
            apply_with_snapshots(projector, events, save=save)
        else:
            projector.apply(events, save=save)
    except HandlerFailed as exc:
        raise StreamFailed(Failure(events[exc.index], exc.error)) from exc.error


def projection_catch_up(
    name: str, *, batch_size: int | None = None, force: bool = False, partition: int | None = None
) -> int:
    """Apply every event after the checkpoint, batch by batch; return how many were read.

    A projection that has never been built (no checkpoint) is built first, in place,
    by `rebuilds.projection_build`. `force` also retries its parked streams now. A
    partitioned projection catches up the given partition (if another runner holds it,
    that runner looks again once it lets go), or each in turn.
    """
    projector = PROJECTORS[projection_names([name])[0]]
    if not Checkpoint.objects.using(READ_DB).filter(name=name).exists():
        from .rebuilds import projection_build  # it runs batches through this module

        return projection_build(name, batch_size=batch_size)
    size = batch_size or settings.ORDINAL_PROJECTION_BATCH_SIZE
    count = partitions.partition_count()
    if not partitions.layout_matches(name, count):
        partitions_relayout(projector, count, size)
    if force:
        from .retries import parked_retry  # it takes the checkpoint lock as runners do

        parked_retry(name, force=True)
    if count == 1:
        return _catch_up(projector, size)
    chosen = range(count) if partition is None else [partition % count]
    return sum(_catch_up(projector, size, (p, count)) for p in chosen)


Part = tuple[int, int]  # (partition, partitions)


def _catch_up(
    projector: type[Projector], size: int, part: Part | None = None, upto: Key | None = None
) -> int:
    done, step = 0, size
    while True:
        try:
            batch = _batch_run(projector, step, part, upto)
        except BatchRefused as refused:
            # The database refused a row: bisect the refused range to find which one.
            # Halving keeps the batch runs logarithmic in the batch size, and the good
            # events before the culprit commit on the way.
            step = max(1, refused.size // 2)
            continue
        if batch is None:
            return done  # another runner holds the partition; it looks again after
        done += batch.read
        # The head was reached when the batch was read. A partition's runner reads once
        # more after letting go, for events whose nudge found the partition busy.
        if batch.complete and (part is None or not batch.read):
            return done
        if step == 1:
            step = size  # the culprit is parked: full batches again (another is bisected anew)


class Batch(NamedTuple):
    read: int  # events applied (or parked)
    complete: bool  # the feed (the partition's) was read to its end


def _batch_run(
    projector: type[Projector], size: int, part: Part | None, upto: Key | None
) -> Batch | None:
    """Apply up to `size` events after the checkpoint (None: the partition is leased)."""
    failures: list[Failure] = []
    while True:
        try:
            return _batch_attempt(projector, size, failures, part, upto)
        except StreamFailed as failed:
            # Rolled back whole: the next attempt parks the stream and goes on without it.
            failures.append(failed.failure)


def _batch_attempt(
    projector: type[Projector],
    size: int,
    failures: list[Failure],
    part: Part | None,
    upto: Key | None,
) -> Batch | None:
    name = projector.name
    with transaction.atomic(using=READ_DB):
        if part is None:
            mark = checkpoint_lock(name)
            rows = store.read_feed(mark.key, size)
            last, complete = rows[-1].feed_key if rows else mark.key, len(rows) < size
        else:
            if not partitions.checkpoint_share(name):
                raise StaleCheckpoint(f"Projection {name} has no checkpoint any more.")
            mark = partitions.partition_lease(name, *part)
            if mark is None:
                return None
            page = store.read_partition(mark.key, size, *part, upto=upto)
            rows, last, complete = page.events, page.through, page.complete
        for failure in failures:
            parking.park(name, failure)
        if not rows and last == mark.key:
            return Batch(0, complete)
        try:
            # A savepoint, so a refused write leaves the transaction usable.
            with transaction.atomic(using=READ_DB):
                # Partitions' runners lock the rows they change (others' streams add to
                # them too); snapshots need the whole feed applied up to one key.
                shared = part is not None
                projection_apply(projector(lock_keys=shared), rows, snapshots=not shared)
        except TRANSIENT_ERRORS:
            raise  # the task retries the whole batch
        except DatabaseError as exc:
            if len(rows) > 1:
                raise BatchRefused(len(rows), last) from exc
            parking.park(name, Failure(rows[0], exc))
        if part is None:
            checkpoint_advance(mark, last)
        else:
            partitions.partition_advance(mark, last)
        return Batch(len(rows), complete)


def partitions_relayout(projector: type[Projector], count: int, size: int) -> None:
    """Split the projection into `count` partitions (1: none), under its exclusive lock:
    any old partitions are first brought to one key, from which the new ones start."""
    name = projector.name
    with transaction.atomic(using=READ_DB):
        checkpoint = checkpoint_lock(name)
        if partitions.layout_matches(name, count):
            return  # another runner did it while this one waited for the lock
        partitions_align(projector, checkpoint, size)
        partitions.partitions_reset(name, checkpoint, count)
        logger.info(
            "Projection %s: %d partition(s) from position %d.", name, count, checkpoint.position
        )


def partitions_align(
    projector: type[Projector], checkpoint: Checkpoint, size: int | None = None
) -> Key:
    """Bring every partition of the projection to the furthest one's key, and its checkpoint
    with them; return that key. Under the caller's exclusive lock on the checkpoint."""
    rows = partitions.partitions_get(projector.name)
    if not rows:
        return checkpoint.key
    top = max(row.key for row in rows)
    for row in rows:
        _catch_up(
            projector,
            size or settings.ORDINAL_PROJECTION_BATCH_SIZE,
            (row.partition, row.partitions),
            top,
        )
    if checkpoint.key != top:
        checkpoint_advance(checkpoint, top)
    return top
