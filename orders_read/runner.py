"""Run projections: one batch and its checkpoint advance per read-DB transaction."""

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connections,
    transaction,
)
from django.utils import timezone

from eventlog import store

from .models import Checkpoint
from .projectors import PROJECTORS, HandlerFailed, Projector
from .snapshots import apply_with_snapshots, snapshots_reset

READ_DB = "read"
MAX_BACKOFF_SECONDS = 300
ERROR_TEXT_LIMIT = 2000
# A rebuild reads the log in pages of at least this many events (unless told a size),
# and holds at most
# this many rows per projection in memory before it reads them back from the table.
REBUILD_BATCH_SIZE = 10_000
REBUILD_ROWS_HELD = 500_000
# Trouble with the connection or a lock, not with the data: retried as a whole.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)

Progress = Callable[[int, int], None]


class UnknownProjection(LookupError):
    """No projection has that name."""


class StaleCheckpoint(Exception):
    """The checkpoint moved under a runner: its work is stale and was rolled back."""


class _BatchRefused(Exception):
    """The database refused a batch's writes (not a transient error)."""

    def __init__(self, size: int, last_position: int) -> None:
        super().__init__(f"A batch of {size} events up to position {last_position} was refused.")
        self.size = size
        self.last_position = last_position


class ProjectionFailed(Exception):
    """A projector handler failed: the projection stopped just before `position`."""

    def __init__(self, name: str, position: int, error: str, attempts: int) -> None:
        super().__init__(f"Projection {name} stopped at position {position}: {error}")
        self.name = name
        self.position = position
        self.attempts = attempts

    @property
    def retry_in(self) -> int:
        return backoff_seconds(self.attempts)


def backoff_seconds(attempts: int) -> int:
    """Return how long to wait before retrying after `attempts` failures in a row."""
    return min(2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def projection_names(names: list[str] | None = None) -> list[str]:
    """Return the given projection names, checked, or every projection's name."""
    unknown = sorted(set(names or ()) - set(PROJECTORS))
    if unknown:
        raise UnknownProjection(f"Unknown projection(s): {', '.join(unknown)}.")
    return list(names) if names else list(PROJECTORS)


def projections_behind(position: int) -> list[str]:
    """Return the projections whose checkpoint has not reached `position` yet."""
    reached = dict(Checkpoint.objects.using(READ_DB).values_list("name", "position"))
    return [name for name in PROJECTORS if reached.get(name, 0) < position]


def projection_catch_up(name: str, *, batch_size: int | None = None, force: bool = False) -> int:
    """Apply every event after the checkpoint, batch by batch; return how many were read.

    A failing projection is skipped until its retry time unless `force` is given.
    Raise ProjectionFailed (after committing the events before the failing one).
    """
    projector = PROJECTORS[projection_names([name])[0]]
    size = batch_size or settings.ORDINAL_PROJECTION_BATCH_SIZE
    _checkpoint_ensure(name)
    done, step = 0, size
    refused_until = 0  # the end of the last refused batch: smaller steps until past it
    while True:
        try:
            count, last = _batch_run(projector, step, force)
        except _BatchRefused as refused:
            # The database refused a row: bisect the refused range to find which one.
            # Halving keeps the batch runs logarithmic in the batch size, and the good
            # events before the culprit commit on the way.
            refused_until = max(refused_until, refused.last_position)
            step = max(1, refused.size // 2)
            continue
        done += count
        if count < step:
            return done  # a short batch: the log's head was reached when it was read
        force = False  # the failure, if any, is behind us now
        if last >= refused_until:
            step = size


def projection_rebuild(
    name: str, *, batch_size: int | None = None, progress: Progress | None = None
) -> int:
    """Empty one read model and replay the whole log into it; return how many events."""
    return projections_rebuild([name], batch_size=batch_size, progress=progress)


def projections_rebuild(
    names: list[str] | None = None,
    *,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Empty the read models and replay the whole log into all of them in one pass.

    It is one read-DB transaction holding every checkpoint lock: readers see the old
    models until it commits, and runners wait instead of interleaving with the replay.
    The log is read once for all the projections, and the rows stay in memory (up to
    REBUILD_ROWS_HELD per projection), so the tables are only written, never read back.
    """
    chosen = sorted(projection_names(names))
    size = batch_size or max(settings.ORDINAL_PROJECTION_BATCH_SIZE, REBUILD_BATCH_SIZE)
    for name in chosen:
        _checkpoint_ensure(name)
    with _collector_paused(), transaction.atomic(using=READ_DB):
        checkpoints = [_checkpoint_lock(name) for name in chosen]  # in name order, always
        projectors = [PROJECTORS[name](complete=True) for name in chosen]
        for projector in projectors:
            projector.reset()
        # The snapshots are taken anew at the same points as the replay passes them.
        snapshots_reset(chosen)
        head, position, done = store.head_position(), 0, 0
        while events := store.read_all(position, size, metadata=False):
            for projector in projectors:
                apply_with_snapshots(projector, events, save=False)
                _rebuild_spill(projector)
            position, done = events[-1].position, done + len(events)
            if progress is not None:
                progress(position, max(head, position))
        for projector, checkpoint in zip(projectors, checkpoints, strict=True):
            projector.save()
            _checkpoint_advance(checkpoint, position)
    return done


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a rebuild holds many rows and makes no cycles.

    Otherwise its full collections, triggered by allocations and walking every row
    held, cost about a third of a rebuild's time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _rebuild_spill(projector: Projector) -> None:
    """Write rows out as they pile up, and let go of them past the memory bound."""
    if len(projector.rows) >= REBUILD_ROWS_HELD:
        projector.forget()
    elif len(projector.changed) >= REBUILD_ROWS_HELD // 10:
        projector.save()


def _batch_run(projector: type[Projector], size: int, force: bool) -> tuple[int, int]:
    """Apply up to `size` events after the checkpoint; return (how many, last position)."""
    name = projector.name
    with transaction.atomic(using=READ_DB):
        checkpoint = _checkpoint_lock(name)
        if checkpoint.retry_at and checkpoint.retry_at > timezone.now() and not force:
            return 0, checkpoint.position
        rows = store.read_all(checkpoint.position, size, metadata=False)
        if not rows:
            return 0, checkpoint.position
        try:
            # A savepoint, so a failed handler leaves the transaction usable.
            with transaction.atomic(using=READ_DB):
                apply_with_snapshots(projector(), rows)
        except TRANSIENT_ERRORS:
            raise  # the task retries the whole batch
        except HandlerFailed as exc:
            failure = exc
        except DatabaseError as exc:
            if len(rows) > 1:
                raise _BatchRefused(len(rows), rows[-1][0]) from exc
            failure = HandlerFailed(0, rows[0][0], exc)
        else:
            _checkpoint_advance(checkpoint, rows[-1][0])
            return len(rows), rows[-1][0]
        # Keep the events before the failing one; stop at it, recorded, never skipped.
        if failure.index:
            apply_with_snapshots(projector(), rows[: failure.index])
            _checkpoint_advance(checkpoint, rows[failure.index - 1][0])
        error = f"{type(failure.error).__name__}: {failure.error}"
        attempts = _checkpoint_fail(checkpoint, failure.position, error)
        failed = ProjectionFailed(name, failure.position, error, attempts)
    raise failed


def _checkpoint_ensure(name: str) -> None:
    if Checkpoint.objects.using(READ_DB).filter(name=name).exists():
        return
    try:
        with transaction.atomic(using=READ_DB):
            Checkpoint.objects.using(READ_DB).create(name=name)
    except IntegrityError:
        pass  # another runner created it first


def _checkpoint_lock(name: str) -> Checkpoint:
    """Lock the checkpoint row until the transaction ends: one runner per projection.

    On PostgreSQL a second runner waits here, then reads the advanced position; on
    SQLite the read DB's IMMEDIATE transactions already serialise runners.
    """
    query = Checkpoint.objects.using(READ_DB)
    if connections[READ_DB].features.has_select_for_update:
        query = query.select_for_update()
    return query.get(name=name)


def _checkpoint_advance(checkpoint: Checkpoint, position: int) -> None:
    """Move the checkpoint from where this runner read it (compare-and-set); clear errors."""
    moved = (
        Checkpoint.objects.using(READ_DB)
        .filter(name=checkpoint.name, position=checkpoint.position)
        .update(
            position=position,
            updated_at=timezone.now(),
            last_error="",
            error_position=None,
            attempts=0,
            retry_at=None,
        )
    )
    if moved != 1:
        raise StaleCheckpoint(f"Checkpoint {checkpoint.name} moved from {checkpoint.position}.")
    checkpoint.position = position


def _checkpoint_fail(checkpoint: Checkpoint, position: int, error: str) -> int:
    """Record the failing event and schedule its retry; return the attempts so far."""
    same = checkpoint.error_position == position
    attempts = checkpoint.attempts + 1 if same else 1
    now = timezone.now()
    Checkpoint.objects.using(READ_DB).filter(name=checkpoint.name).update(
        last_error=error[:ERROR_TEXT_LIMIT],
        error_position=position,
        attempts=attempts,
        retry_at=now + timedelta(seconds=backoff_seconds(attempts)),
        updated_at=now,
    )
    return attempts
