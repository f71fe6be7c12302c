"""Build a projection's read model anew beside the live one, then swap it in (blue/green).

A Rebuild row is the new generation's checkpoint: the builder replays the log into the
new table in transactions of REBUILD_COMMIT_EVENTS events, each advancing the row's
position (compare-and-set) with the rows it wrote, so a builder killed midway is
resumed from there by the next one (the redelivered task, the sweep, or the CLI).
Meanwhile the live model keeps catching up and serving. Once the new generation has
reached the head, its indexes are built, and one transaction holding the live
checkpoint's lock applies the last events and swaps the tables (`generations`):
readers see the old model until it commits, then the new one.

Kinds: "rebuild" swaps in; "verify" stops at the live checkpoint, compares and drops
the new table; "build" (a projection with no checkpoint yet) is written in place, and
its checkpoint created at the end.
"""

import gc
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.utils import timezone

from eventlog import store

from . import checkpoints, parking, partitions, runner
from .generations import shadow_label, shadow_model, tables
from .models import Checkpoint, Rebuild
from .parking import Failure, StreamFailed
from .projectors import PROJECTORS, Recorded
from .snapshots import snapshots_relabel, snapshots_reset
from .verify import Verification, parked_compare, tables_compare

logger = logging.getLogger(__name__)

READ_DB = "read"
REBUILD_PAGE = 10_000  # events read from the log at a time
# Rows held in memory per projection before they are written and read back as needed.
REBUILD_ROWS_HELD = 500_000

Progress = Callable[[Rebuild], None]


class RebuildRunning(Exception):
    """The projection has an active rebuild, verify or build already."""

    def __init__(self, active: Rebuild) -> None:
        super().__init__(
            f"A {active.kind} of {active.projection} is already {active.status} "
            f"(at position {active.position})."
        )
        self.active = active


class _Lost(Exception):
    """Another builder holds or moved the row: leave it to them."""


class _GenerationFailed(Exception):
    def __init__(self, label: str, failure: Failure) -> None:
        super().__init__(failure.message)
        self.label = label
        self.failure = failure


def rebuild_active(name: str) -> Rebuild | None:
    """Return the projection's active rebuild, verify or build, if it has one."""
    return Rebuild.objects.using(READ_DB).filter(projection=name, status__in=Rebuild.ACTIVE).first()


def rebuild_request(name: str, kind: str = "rebuild") -> Rebuild:
    """Queue a new generation of the projection; raise RebuildRunning if one is active.

    A rebuild of a projection that was never built is its build.
    """
    runner.projection_names([name])
    if kind == "rebuild" and not Checkpoint.objects.using(READ_DB).filter(name=name).exists():
        kind = "build"
    try:
        with transaction.atomic(using=READ_DB):
            return Rebuild.objects.using(READ_DB).create(
                projection=name, kind=kind, created_at=timezone.now(), head=store.head_position()
            )
    except IntegrityError:
        active = rebuild_active(name)
        if active is None:  # it finished in between
            return rebuild_request(name, kind)
        raise RebuildRunning(active) from None


def rebuild_stale(build: Rebuild) -> bool:
    """Tell whether an active rebuild has not moved for a while (its builder is gone)."""
    moved = build.updated_at or build.created_at
    stale = timedelta(seconds=settings.ORDINAL_REBUILD_STALE_SECONDS)
    return build.active and timezone.now() - moved > stale


def rebuilds_stale() -> list[Rebuild]:
    """Return the active rebuilds that lost their builder, for the sweep to resume."""
    return [
        b
        for b in Rebuild.objects.using(READ_DB).filter(status__in=Rebuild.ACTIVE)
        if rebuild_stale(b)
    ]


def projection_build(name: str, *, batch_size: int | None = None) -> int:
    """Build a projection that has no checkpoint, in place; return how many events it read.

    On an empty log this only creates the checkpoint, at 0.
    """
    try:
        build = rebuild_request(name, "build")
    except RebuildRunning as running:
        build = running.active
    return rebuilds_run([build.pk], batch_size=batch_size)


def projections_rebuild(
    names: list[str] | None = None,
    *,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Rebuild these projections (default: all) here and now, in one pass; return events read.

    Raise RebuildRunning if one of them has a rebuild under way already.
    """
    builds = [rebuild_request(name) for name in runner.projection_names(names)]
    return rebuilds_run([b.pk for b in builds], batch_size=batch_size, progress=progress)


def projection_verify(name: str, *, batch_size: int | None = None) -> Verification:
    """Verify one projection here and now; return how the replay compares with it."""
    build = rebuild_request(name, "verify")
    found: list[Verification] = []
    rebuilds_run([build.pk], batch_size=batch_size, verified=found.append)
    return found[0]


def rebuilds_run(
    ids: Sequence[int],
    *,
    batch_size: int | None = None,
    progress: Progress | None = None,
    verified: Callable[[Verification], None] | None = None,
) -> int:
    """Run these rebuilds to their end, reading the log once for all; return events read.

    A rebuild another builder holds is left to it. Raise runner.StaleCheckpoint (or a
    transient database error) for the caller to retry; what committed stays.
    """
    commit = batch_size or settings.ORDINAL_REBUILD_BATCH_SIZE
    page = min(commit, REBUILD_PAGE)
    generations = [g for g in (_claim(pk) for pk in ids) if g is not None]
    claimed = list(generations)
    done, step, refused_until = 0, commit, (0, 0)
    failures: dict[str, list[Failure]] = {}
    with _collector_paused():
        while generations:
            try:
                count, finished = _step(generations, step, page, failures)
                done += count
                if min(g.build.key for g in generations) >= refused_until:
                    step = commit
                for generation in finished:
                    if _finish(generation, page, failures, verified):
                        generations.remove(generation)
            except _GenerationFailed as failed:
                # Rolled back: the next step parks the stream and goes on without it.
                failures.setdefault(failed.label, []).append(failed.failure)
                _forget(generations)
            except runner.BatchRefused as refused:
                refused_until = max(refused_until, refused.last_key)
                step = max(1, refused.size // 2)
                _forget(generations)
            except _Lost as lost:
                logger.info("%s", lost)
                generations = [g for g in generations if g.pk != lost.args[1]]
                _forget(generations)
            if progress is not None:
                for generation in claimed:
                    progress(generation.build)
    return done


class _Generation:
    """One rebuild under way in this process: its row, its table and its projector."""

    def __init__(self, build: Rebuild) -> None:
        self.build = build
        self.pk = build.pk
        self.name = build.projection
        self.projector_class = PROJECTORS[self.name]
        live = self.projector_class.model
        self.in_place = build.kind == "build"
        self.model = live if self.in_place else shadow_model(live)
        self.label = self.name if self.in_place else shadow_label(self.name)
        self.tables = None if self.in_place else tables(live)
        self.projector = self.projector_class(
            complete=build.key == (0, 0), model=self.model, label=self.label
        )
        self.verification: Verification | None = None

    def fresh_start(self) -> None:
        """Empty the new generation (its table, parked streams and snapshots)."""
        if self.tables is not None:
            self.tables.create()
        else:
            self.projector.reset()
        parking.parked_reset(self.label)
        snapshots_reset([self.label])

    def upto(self) -> tuple[int, int] | None:
        """The last feed key this generation may reach now (None: the horizon)."""
        if self.build.kind != "verify":
            return None
        found = Checkpoint.objects.using(READ_DB).filter(name=self.name).first()
        return found.key if found else (0, 0)

    def forget(self) -> None:
        """Drop what a rolled-back transaction left in memory: rows and position."""
        self.projector = self.projector_class(model=self.model, label=self.label)
        self.build.refresh_from_db(using=READ_DB)


def _forget(generations: list[_Generation]) -> None:
    for generation in generations:
        generation.forget()


def _claim(pk: int) -> _Generation | None:
    """Take the rebuild for this process, starting it afresh if its table is not there."""
    with transaction.atomic(using=READ_DB):
        build = _lock(pk)
        if build is None or not build.active:
            return None
        if (
            build.kind == "build"
            and Checkpoint.objects.using(READ_DB).filter(name=build.projection).exists()
        ):
            # Another build finished after this one was asked for: the table is live now,
            # and a build writes in place, so it must not start (it would empty it).
            _done(_Generation(build), f"{build.projection}: built already", failed=False)
            return None
        generation = _Generation(build)
        fresh = build.key == (0, 0) or (
            generation.tables is not None and not generation.tables.exists()
        )
        if fresh:
            generation.fresh_start()
            generation.projector = generation.projector_class(
                complete=True, model=generation.model, label=generation.label
            )
        now = timezone.now()
        fields = {"status": Rebuild.RUNNING, "updated_at": now}
        if fresh:
            fields.update(tx_id=0, position=0, events_done=0, indexed=False, started_at=now)
        Rebuild.objects.using(READ_DB).filter(pk=pk).update(**fields)
        build.refresh_from_db(using=READ_DB)
        logger.info(
            "%s %s from position %d.", build.kind.capitalize(), build.projection, build.position
        )
        return generation


def _lock(pk: int) -> Rebuild | None:
    query = Rebuild.objects.using(READ_DB)
    if connections[READ_DB].features.has_select_for_update:
        query = query.select_for_update(skip_locked=True)
    return query.filter(pk=pk).first()


def _step(
    generations: list[_Generation], step: int, page: int, failures: dict[str, list[Failure]]
) -> tuple[int, list[_Generation]]:
    """Apply up to `step` events to every generation in one transaction.

    Return how many events were read and the generations that reached their end.
    """
    with transaction.atomic(using=READ_DB):
        for generation in generations:
            build = _lock(generation.pk)
            if build is None or build.key != generation.build.key or not build.active:
                raise _Lost(f"Rebuild {generation.pk} is in other hands now.", generation.pk)
            for failure in failures.pop(generation.label, []):
                parking.park(generation.label, failure)
        start = min(g.build.key for g in generations)
        events, at_head = _read(start, step, page)
        finished = []
        for generation in generations:
            upto = generation.upto()
            mine = [
                e
                for e in events
                if e.feed_key > generation.build.key and (upto is None or e.feed_key <= upto)
            ]
            _apply(generation, mine)
            reached = mine[-1].feed_key if mine else generation.build.key
            _advance(generation, reached, len(mine))
            past = upto is not None and (
                reached >= upto or (bool(events) and events[-1].feed_key > upto)
            )
            if at_head or past:
                finished.append(generation)
        return len(events), finished


def _read(after: tuple[int, int], step: int, page: int) -> tuple[list[Recorded], bool]:
    """Read up to `step` feed events after the key, page by page; say if the end was reached."""
    events: list[Recorded] = []
    while len(events) < step:
        wanted = min(page, step - len(events))
        found = store.read_feed(after, wanted)
        events.extend(found)
        if len(found) < wanted:
            return events, True
        after = found[-1].feed_key
    return events, False


def _apply(generation: _Generation, events: Sequence[Recorded]) -> None:
    if not events:
        return
    try:
        with transaction.atomic(using=READ_DB):
            # Rows are written once a step, not at every snapshot point inside it.
            runner.projection_apply(
                generation.projector,
                events,
                save=False,
                snapshots=generation.build.kind != "verify",
            )
            generation.projector.save()
    except StreamFailed as failed:
        raise _GenerationFailed(generation.label, failed.failure) from None
    except runner.TRANSIENT_ERRORS:
        raise
    except DatabaseError as exc:
        if len(events) > 1:
            raise runner.BatchRefused(len(events), events[-1].feed_key) from exc
        parking.park(generation.label, Failure(events[0], exc))
    projector = generation.projector
    if len(projector.rows) >= REBUILD_ROWS_HELD:
        projector.forget()


def _advance(generation: _Generation, key: tuple[int, int], count: int) -> None:
    build = generation.build
    moved = (
        Rebuild.objects.using(READ_DB)
        .filter(pk=build.pk, tx_id=build.tx_id, position=build.position)
        .update(
            tx_id=key[0],
            position=key[1],
            events_done=build.events_done + count,
            head=max(store.head_position(), key[1]),
            updated_at=timezone.now(),
        )
    )
    if moved != 1:
        raise _Lost(f"Rebuild {build.pk} moved from {build.position}.", build.pk)
    build.refresh_from_db(using=READ_DB)


def _finish(
    generation: _Generation,
    page: int,
    failures: dict[str, list[Failure]],
    verified: Callable[[Verification], None] | None = None,
) -> bool:
    """End a generation that reached the head; False if it needs another step first."""
    build = generation.build
    if build.kind == "rebuild" and not build.indexed:
        # Outside the swap's lock: indexing a large table takes a while.
        generation.tables.index()
        Rebuild.objects.using(READ_DB).filter(pk=build.pk).update(
            indexed=True, updated_at=timezone.now()
        )
        build.indexed = True
        return False  # events kept coming meanwhile: another step, then the swap
    with transaction.atomic(using=READ_DB):
        checkpoint = checkpoints.checkpoint_lock(generation.name, create=False)
        if _lock(build.pk) is None:
            raise _Lost(f"Rebuild {build.pk} is in other hands now.", build.pk)
        for failure in failures.pop(generation.label, []):
            parking.park(generation.label, failure)
        _ENDINGS[build.kind](generation, checkpoint, page)
    if verified is not None and generation.verification is not None:
        verified(generation.verification)
    return True


def _last_events(generation: _Generation, upto: tuple[int, int] | None, page: int) -> None:
    """Apply the feed after the generation's key (up to `upto`), in this transaction."""
    while True:
        events = store.read_feed(generation.build.key, page)
        mine = [e for e in events if upto is None or e.feed_key <= upto]
        if not mine:
            return
        _apply(generation, mine)
        _advance(generation, mine[-1].feed_key, len(mine))
        if len(mine) < page:
            return


def _end_build(generation: _Generation, checkpoint: Checkpoint | None, page: int) -> None:
    if checkpoint is not None:
        # Nothing of ours is live, and the live model is someone else's: stop here.
        _done(generation, "the projection got a checkpoint meanwhile", failed=True)
        return
    _last_events(generation, None, page)
    checkpoints.checkpoint_create(generation.name, generation.build.key)
    _done(generation, f"{generation.name}: built at position {generation.build.position}")


def _end_rebuild(generation: _Generation, checkpoint: Checkpoint | None, page: int) -> None:
    _last_events(generation, None, page)
    generation.tables.swap()
    snapshots_relabel(generation.label, generation.name)
    parking.parked_relabel(generation.label, generation.name)
    key = generation.build.key
    if checkpoint is None:
        checkpoints.checkpoint_create(generation.name, key)
    else:
        checkpoints.checkpoint_advance(checkpoint, key)
        # The new table has the whole feed applied up to the key: its partitions start there.
        partitions.partitions_reset(generation.name, checkpoint, partitions.partition_count())
    _done(generation, f"{generation.name}: rebuilt and swapped in at position {key[1]}")


def _end_verify(generation: _Generation, checkpoint: Checkpoint | None, page: int) -> None:
    # A partitioned live model stands at one key only once its partitions are brought there.
    projector = generation.projector_class
    key = runner.partitions_align(projector, checkpoint, page) if checkpoint else (0, 0)
    _last_events(generation, key, page)
    result = Verification(generation.name, key[1], store.head_position())
    tables_compare(result, generation.projector_class.model, generation.model)
    parked_compare(result, generation.name, generation.label)
    generation.tables.drop()
    parking.parked_reset(generation.label)
    snapshots_reset([generation.label])
    generation.verification = result
    _done(generation, result.summary(), failed=not result.matches)


_ENDINGS = {"build": _end_build, "rebuild": _end_rebuild, "verify": _end_verify}


def _done(generation: _Generation, result: str, *, failed: bool = False) -> None:
    now = timezone.now()
    Rebuild.objects.using(READ_DB).filter(pk=generation.pk).update(
        status=Rebuild.FAILED if failed else Rebuild.DONE,
        finished_at=now,
        updated_at=now,
        result=result,
    )
    generation.build.refresh_from_db(using=READ_DB)
    logger.info("%s of %s: %s", generation.build.kind.capitalize(), generation.name, result)


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


def rebuild_progress(build: Rebuild) -> dict:
    """Return a rebuild's progress for people: done, of, percent, rate and ETA."""
    head = max(build.head, build.position)
    elapsed = (
        (build.updated_at - build.started_at).total_seconds()
        if build.started_at and build.updated_at
        else 0.0
    )
    rate = build.events_done / elapsed if elapsed > 0 else None
    left = max(head - build.position, 0)
    return {
        "kind": build.kind,
        "status": build.status,
        "position": build.position,
        "head": head,
        "percent": round(100 * build.position / head, 1) if head else 100.0,
        "events_per_second": round(rate) if rate else None,
        "eta_seconds": round(left / rate) if rate and build.active else None,
        "started_at": build.started_at,
        "finished_at": build.finished_at,
        "result": build.result,
    }
