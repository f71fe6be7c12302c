"""Celery tasks of the command inbox: run one entry, resend lost ones, purge old ones.

They carry only a command id and hold no logic: config.bootstrap builds what runs.
"""

import logging
import time
from uuid import UUID

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from config.logging import correlation_id as current_correlation_id
from orders_write.inbox.runner import TRANSIENT_ERRORS, RetryLater

logger = logging.getLogger(__name__)
MAX_RETRIES = 8


@shared_task(
    name="orders_write.command_run",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=MAX_RETRIES,
)
def command_run(self, command_id: str, correlation_id: str | None = None) -> str | None:
    """Run the inbox entry `command_id` unless it is taken or done (exactly once)."""
    from .bootstrap import command_runner  # the composition root imports this module

    try:
        return command_runner().run(UUID(command_id))
    except (RetryLater, *TRANSIENT_ERRORS) as exc:
        logger.warning("Command %s: transient error, will retry: %s", command_id, exc)
        if self.request.is_eager:
            return None  # never retry inside the web request: the sweep will
        countdown = get_exponential_backoff_interval(
            factor=1, retries=self.request.retries, maximum=60, full_jitter=True
        )
        # Bounded; past the last retry the sweep sends the entry again.
        raise self.retry(exc=exc, countdown=countdown) from None


@shared_task(name="orders_write.inbox_sweep", ignore_result=True)
def inbox_sweep(correlation_id: str | None = None) -> int:
    """Send a task again for each inbox entry whose task seems lost."""
    from .bootstrap import commands_resend

    return commands_resend()


@shared_task(name="orders_write.inbox_purge", ignore_result=True)
def inbox_purge(correlation_id: str | None = None) -> int:
    """Delete inbox entries finished longer ago than ORDINAL_INBOX_KEEP_HOURS."""
    from .bootstrap import commands_purge

    return commands_purge()


# After a failed publish, requests skip the broker for this long: each attempt costs the
# publish retries, and the sweep sends the queued entries once the broker is back.
PUBLISH_BACKOFF_SECONDS = 5.0
_broker_down_until = 0.0


def enqueue_command_run(command_id: UUID) -> None:
    """Send the entry's task after its commit; never fail the caller (the entry is safe)."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return
    try:
        command_run.delay(str(command_id), correlation_id=current_correlation_id.get())
    except Exception as exc:  # kombu raises transport-specific errors
        _broker_down_until = time.monotonic() + PUBLISH_BACKOFF_SECONDS
        logger.warning(
            "Could not enqueue command %s (%s: %s); the inbox sweep will send it. "
            "Not trying again for %.0f s.",
            command_id,
            type(exc).__name__,
            exc,
            PUBLISH_BACKOFF_SECONDS,
        )
