"""Celery tasks of the read side: they carry no event data, only "catch up"."""

import logging
import time

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.utils import timezone

from config.logging import correlation_id as current_correlation_id
from eventlog import store

from . import runner
from .models import Checkpoint

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
    self, name: str, force: bool = False, correlation_id: str | None = None
) -> int:
    """Catch one projection up to the head of the event log.

    `correlation_id` names the work that queued the task; `config.celery_app` logs the
    task's lines under it.
    """
    try:
        done = runner.projection_catch_up(name, force=force)
    except runner.ProjectionFailed as failure:
        logger.error("%s (attempt %d)", failure, failure.attempts)
        countdown, error = failure.retry_in, None
    except TRANSIENT_ERRORS as exc:
        logger.warning("Projection %s: transient error, will retry: %s", name, exc)
        countdown = get_exponential_backoff_interval(
            factor=1, retries=self.request.retries, maximum=60, full_jitter=True
        )
        error = exc
    else:
        logger.debug("Projection %s applied %d event(s).", name, done)
        return done
    if self.request.is_eager:
        # Never retry inside the web request: the next nudge or sweep will.
        return 0
    # Bounded; past the last retry the sweep goes on retrying (a failing projection
    # after its backoff), so an event is delayed at worst, never skipped.
    raise self.retry(exc=error, countdown=countdown)


@shared_task(
    name="orders_read.projections_catch_up",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def projections_catch_up(correlation_id: str | None = None, position: int | None = None) -> None:
    """Catch every projection up.

    The sweep (no `position`) sends one task per projection that has work (behind the
    head, and not waiting for its retry time), so one failing projection holds up no
    other; with nothing to do it logs at DEBUG only, every few seconds. A command's
    nudge names the position it committed: projections already past it are done (an
    earlier task took it along), the others catch up here, one after another, so a
    burst of commands costs one catch-up, not one per command and projection. Each
    carries on the correlation id: the command's that nudged, or the beat tick's.
    """
    if position is None:
        due = _projections_due()
        if not due:
            logger.debug("Sweep: every projection is at the head of the log.")
            return
        logger.info("Sweep: %s behind the head of the log; catching up.", ", ".join(due))
        for name in due:
            projection_catch_up.delay(name, correlation_id=current_correlation_id.get())
        return
    behind = runner.projections_behind(position)
    logger.debug("Nudge for position %d: %s behind.", position, ", ".join(behind) or "none")
    for name in behind:
        try:
            done = runner.projection_catch_up(name)
        except runner.ProjectionFailed as failure:
            # Recorded with its retry time; the sweep retries it then.
            logger.error("%s (attempt %d)", failure, failure.attempts)
        except TRANSIENT_ERRORS as exc:
            logger.warning("Projection %s: transient error, its own task retries: %s", name, exc)
            projection_catch_up.delay(name, correlation_id=current_correlation_id.get())
        else:
            logger.debug("Projection %s applied %d event(s).", name, done)


def _projections_due() -> list[str]:
    """Return the projections behind the head of the log, but those waiting to retry."""
    behind = runner.projections_behind(store.head_position())
    waiting = Checkpoint.objects.using(runner.READ_DB).filter(
        name__in=behind, retry_at__gt=timezone.now()
    )
    return sorted(set(behind) - set(waiting.values_list("name", flat=True)))


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
