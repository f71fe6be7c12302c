"""Celery tasks of the read side: they carry no event data, only "catch up"."""

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from config.logging import correlation_id as current_correlation_id

from . import runner

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
def projections_catch_up(correlation_id: str | None = None) -> None:
    """Catch every projection up, each in its own task so one failure holds up no other.

    Each task carries on the correlation id: the command's that nudged, or the fresh one
    `config.celery_app` gave this run (the beat sweep sends none).
    """
    for name in runner.projection_names():
        projection_catch_up.delay(name, correlation_id=current_correlation_id.get())


def enqueue_catch_up() -> None:
    """Nudge the projections after a commit; never fail the caller (the events are safe)."""
    try:
        projections_catch_up.delay(correlation_id=current_correlation_id.get())
    except Exception as exc:  # kombu raises transport-specific errors
        # One line, not a traceback: during a broker outage every command lands here.
        logger.warning(
            "Could not enqueue the projection catch-up (%s: %s); the sweep will catch up.",
            type(exc).__name__,
            exc,
        )
