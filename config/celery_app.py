"""The Celery application: `celery -A config worker` / `celery -A config beat`."""

import os
import sys

from celery import Celery, signals
from django.core.exceptions import ImproperlyConfigured

from . import redis_transport
from .celery_logging import CorrelatedTask
from .secret_key import refuse_weak_secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Before any broker connection: a worker must survive Redis going away (see the module).
redis_transport.register()

# Every task logs under its correlation id (config.celery_logging).
app = Celery("ordinal", task_cls=CorrelatedTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Celery's Django fixup closes every database connection after each task unless this
# is set, so each catch-up paid two fresh connections. The connections are kept, and
# Django retires them by its own rules around each task (below), as around a request.
app.conf.CELERY_DB_REUSE_MAX = sys.maxsize // 4
# Each beat tick logs, and sends the sweep, under a fresh correlation id.
app.conf.beat_scheduler = "config.celery_logging:CorrelatedScheduler"


@signals.worker_init.connect
@signals.beat_init.connect
def secret_keys_required(**kwargs) -> None:
    """Stop a worker or beat at start when the SECRET_KEY or the master key is refused.

    (config/secret_key.py, config/master_key.py.) By SystemExit: Celery logs and swallows
    the exceptions of signal handlers.
    """
    from .master_key import refuse_bad_master_key  # reads a table: after Django's setup

    try:
        refuse_weak_secret_key()
        refuse_bad_master_key()
    except ImproperlyConfigured as error:
        raise SystemExit(f"ImproperlyConfigured: {error}") from None


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


@signals.task_success.connect
def task_succeeded(sender=None, **kwargs) -> None:
    """Count a task that succeeded (ordinal_celery_tasks_total)."""
    _task_counted(sender, "succeeded")


@signals.task_failure.connect
def task_failed(sender=None, **kwargs) -> None:
    """Count a task that failed for good."""
    _task_counted(sender, "failed")


@signals.task_retry.connect
def task_retried(sender=None, **kwargs) -> None:
    """Count a task that will run again."""
    _task_counted(sender, "retried")


def _task_counted(task, outcome: str) -> None:
    # Imported here: this module is imported before the settings choose the metrics'
    # directory, and prometheus_client picks its multiprocess mode when first imported.
    from .metrics import task_observed

    task_observed(getattr(task, "name", None) or "unknown", outcome)
