"""Celery tasks of the read side: they carry no event data, only "catch up"."""

import logging
import time

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.utils import timezone

from config.logging import correlation_id as current_correlation_id

from . import rebuilds, retries, runner
from .models import ParkedStream
from .partitions import partition_count

logger = logging.getLogger(__name__)

# Transient database trouble (a restart, a dropped connection, a lock timeout).
TRANSIENT_ERRORS = (*runner.TRANSIENT_ERRORS, runner.StaleCheckpoint)
MAX_RETRIES = 8


@shared_task(
    name="orders_read.projection_catch_up",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=MAX_RETRIES,
)
def projection_catch_up(
    self,
    name: str,
    force: bool = False,
    correlation_id: str | None = None,
    partition: int | None = None,
) -> int:
    """Catch one projection (or one partition of it) up to the head of the event log,
    building it if it never was.

    `correlation_id` names the work that queued the task; `config.celery_app` logs the
    task's lines under it.
    """
    try:
        done = runner.projection_catch_up(name, force=force, partition=partition)
    except TRANSIENT_ERRORS as exc:
        return _retry_later(self, f"Projection {name}", exc)
    logger.debug("Projection %s applied %d event(s).", name, done)
    return done


@shared_task(
    name="orders_read.projection_parked_retry",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=MAX_RETRIES,
)
def projection_parked_retry(
    self, name: str, force: bool = False, correlation_id: str | None = None
) -> None:
    """Retry the projection's parked streams whose time has come (all of them if forced)."""
    try:
        outcome = retries.parked_retry(name, force=force)
    except TRANSIENT_ERRORS as exc:
        return _retry_later(self, f"Parked streams of {name}", exc)
    if outcome.applied or outcome.failed:
        logger.info("Projection %s, parked streams: %s.", name, outcome.summary())
    return None


@shared_task(
    name="orders_read.projection_rebuild_run",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=MAX_RETRIES,
)
def projection_rebuild_run(self, rebuild_id: int, correlation_id: str | None = None) -> int:
    """Run a queued (or interrupted) rebuild, verify or build to its end.

    A worker killed midway loses nothing: the task is delivered again (acks_late), or
    the sweep sends it again once the rebuild has stood still for a while, and the
    rebuild resumes from its last committed position.
    """
    try:
        return rebuilds.rebuilds_run([rebuild_id])
    except TRANSIENT_ERRORS as exc:
        return _retry_later(self, f"Rebuild {rebuild_id}", exc)


def _retry_later(task, what: str, exc: Exception):
    logger.warning("%s: transient error, will retry: %s", what, exc)
    if task.request.is_eager:
        # Never retry inside the web request: the next nudge or sweep will.
        return 0
    countdown = get_exponential_backoff_interval(
        factor=1, retries=task.request.retries, maximum=60, full_jitter=True
    )
    # Bounded; past the last retry the sweep goes on, so work is delayed, never lost.
    raise task.retry(exc=exc, countdown=countdown)


@shared_task(
    name="orders_read.projections_catch_up",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def projections_catch_up(correlation_id: str | None = None, position: int | None = None) -> None:
    """Catch every projection up.

    The sweep (no `position`) sends one task per projection that has work (behind the
    head, or never built), one per projection with parked streams due for a retry, and
    one per rebuild that lost its builder; so one slow projection holds up no other.
    With nothing to do it logs at DEBUG only, every few seconds. A command's nudge
    names the position it committed: projections already past it are done (an earlier
    task took it along), the others catch up here, one after another, so a burst of
    commands costs one catch-up, not one per command and projection; a projection that
    was never built gets a task of its own (a build is long). Each carries on the
    correlation id: the command's that nudged, or the beat tick's. A partitioned
    projection gets one task per partition instead, so several workers take part.
    """
    correlation = current_correlation_id.get()
    if position is None:
        _sweep(correlation)
        return
    behind = runner.projections_behind(position)
    built = runner.checkpoint_keys()
    logger.debug("Nudge for position %d: %s behind.", position, ", ".join(behind) or "none")
    for name in behind:
        if name not in built or partition_count() > 1:
            _catch_up_send(name, correlation)
            continue
        try:
            done = runner.projection_catch_up(name)
        except TRANSIENT_ERRORS as exc:
            logger.warning("Projection %s: transient error, its own task retries: %s", name, exc)
            projection_catch_up.delay(name, correlation_id=correlation)
        else:
            logger.debug("Projection %s applied %d event(s).", name, done)


def _sweep(correlation: str | None) -> None:
    behind = sorted(runner.projections_behind())
    parked = sorted(
        set(
            ParkedStream.objects.using(runner.READ_DB)
            .filter(retry_at__lte=timezone.now(), projection__in=runner.projection_names())
            .values_list("projection", flat=True)
        )
    )
    stale = rebuilds.rebuilds_stale()
    if not (behind or parked or stale):
        logger.debug("Sweep: every projection is at the head of the log.")
        return
    if behind:
        logger.info("Sweep: %s behind the head of the log; catching up.", ", ".join(behind))
    for name in behind:
        _catch_up_send(name, correlation)
    for name in parked:
        projection_parked_retry.delay(name, correlation_id=correlation)
    for build in stale:
        logger.warning("Sweep: %s has not moved for a while; resuming it.", build)
        projection_rebuild_run.delay(build.pk, correlation_id=correlation)


def _catch_up_send(name: str, correlation: str | None) -> None:
    # One task per partition: as many workers as partitions take part.
    count = partition_count()
    if count == 1:
        projection_catch_up.delay(name, correlation_id=correlation)
        return
    for partition in range(count):
        projection_catch_up.delay(name, correlation_id=correlation, partition=partition)


# After a failed publish, commands skip the broker for this long: each attempt costs
# the publish retries, and the sweep catches up once the broker is back anyway.
PUBLISH_BACKOFF_SECONDS = 5.0
_broker_down_until = 0.0


def enqueue_catch_up(position: int | None = None) -> None:
    """Nudge the projections after a commit; never fail the caller (the events are safe)."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return
    try:
        projections_catch_up.delay(correlation_id=current_correlation_id.get(), position=position)
    except Exception as exc:  # kombu raises transport-specific errors
        _broker_down_until = time.monotonic() + PUBLISH_BACKOFF_SECONDS
        # One line, not a traceback: during a broker outage every command lands here.
        logger.warning(
            "Could not enqueue the projection catch-up (%s: %s); the sweep will catch up. "
            "Not trying again for %.0f s.",
            type(exc).__name__,
            exc,
            PUBLISH_BACKOFF_SECONDS,
        )
