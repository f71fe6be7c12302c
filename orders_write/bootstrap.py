"""Wire the command bus to its handlers and the read side's post-commit nudge."""

from django.conf import settings

from orders_read.tasks import enqueue_catch_up

from .bus import CommandBus
from .handlers import COMMAND_HANDLERS


def command_bus() -> CommandBus:
    """Return the command bus the API and the admin dispatch through."""
    return CommandBus(
        COMMAND_HANDLERS,
        after_commit=enqueue_catch_up,
        attempts=settings.ORDINAL_COMMAND_RETRIES,
    )
