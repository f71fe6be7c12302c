"""Celery tasks of the read side: they carry no event data, only "catch up"."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="orders_read.projections_catch_up", ignore_result=True)
def projections_catch_up() -> None:
    """Catch every projection up to the head of the event log."""


def enqueue_catch_up() -> None:
    """Nudge the projections after a commit; never fail the caller (the events are safe)."""
    try:
        projections_catch_up.delay()
    except Exception:
        logger.exception("Could not enqueue the projection catch-up; the sweep will catch up.")
