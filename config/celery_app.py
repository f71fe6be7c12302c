"""The Celery application: `celery -A config worker` / `celery -A config beat`."""

import logging.config
import os
import sys
import uuid

from celery import Celery, signals

from . import redis_transport
from .logging import NO_CORRELATION_ID, correlation_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Before any broker connection: a worker must survive Redis going away (see the module).
redis_transport.register()

app = Celery("ordinal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Celery's Django fixup closes every database connection after each task unless this
# is set, so each catch-up paid two fresh connections. The connections are kept, and
# Django retires them by its own rules around each task (below), as around a request.
app.conf.CELERY_DB_REUSE_MAX = sys.maxsize // 4

# The keyword argument a task takes to carry the correlation id of the work that queued it.
CORRELATION_KWARG = "correlation_id"


@signals.setup_logging.connect
def logging_from_django_settings(**kwargs) -> None:
    """Log from workers and beat as the web process does (settings.LOGGING), not Celery's way."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@signals.task_prerun.connect
@signals.task_postrun.connect
def database_connections_checked(task=None, **kwargs) -> None:
    """Close connections past CONN_MAX_AGE or broken (a restarted database) between tasks.

    Not for an eager task: it runs inside a request, whose connections are the request's.
    """
    if task is not None and task.request.is_eager:
        return
    from django.db import close_old_connections

    close_old_connections()


@signals.task_prerun.connect
def correlation_id_enter(task=None, kwargs=None, **extra) -> None:
    """Log a task's lines under the correlation id it was given, or under a fresh one."""
    given = (kwargs or {}).get(CORRELATION_KWARG)
    if not given or given == NO_CORRELATION_ID:
        given = str(uuid.uuid4())  # the beat sweep, or work queued outside any request
    task.request.correlation_token = correlation_id.set(given)


@signals.task_postrun.connect
def correlation_id_leave(task=None, **extra) -> None:
    """Restore the correlation id of whatever ran before the task (an eager task's request)."""
    token = getattr(task.request, "correlation_token", None)
    if token is not None:
        correlation_id.reset(token)
