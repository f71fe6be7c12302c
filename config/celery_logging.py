"""Celery's lines under the correlation id of their work: worker, beat, and what they send.

A message carries the id in a header (set when it is published); the worker logs its
receipt, its run and whatever its main process says about it under that id, or under a
fresh one written into the headers when the message has none. Beat works each tick
under a fresh id, as routine work (Celery's lines about it are DEBUG).
"""

from celery import Task, signals
from celery.beat import PersistentScheduler
from celery.worker.request import Request
from celery.worker.strategy import default as default_strategy

from .logging import configure, correlation_id, names_work, work_begins, working_on

# The keyword argument a task takes to carry the correlation id of the work that queued it.
CORRELATION_KWARG = "correlation_id"
# The message header that carries it. Not "correlation_id": Celery's request has one, the task id.
CORRELATION_HEADER = "ordinal_correlation_id"
# Celery marks what beat sends with this header.
BEAT_HEADER = "celery_beat_task"


def _given(*candidates: str | None) -> str | None:
    """Return the first candidate that names a correlation id, if any."""
    return next((value for value in candidates if names_work(value)), None)


@signals.celeryd_init.connect  # before the worker's first checks, which may warn
@signals.setup_logging.connect  # instead of Celery's own handlers, which would double lines
def logging_from_django_settings(**kwargs) -> None:
    """Log from workers and beat as the web process does (settings.LOGGING), not Celery's way."""
    from django.conf import settings

    configure(settings.LOGGING)


@signals.before_task_publish.connect
def correlation_id_sent(body=None, headers=None, **extra) -> None:
    """Put the correlation id (the task's argument, else the current one) in the headers."""
    kwargs = body[1] if isinstance(body, (list, tuple)) and len(body) == 3 else None  # protocol 2
    given = _given((kwargs or {}).get(CORRELATION_KWARG), correlation_id.get())
    if given is not None and headers is not None:
        headers[CORRELATION_HEADER] = given


@signals.task_prerun.connect
def correlation_id_enter(task=None, kwargs=None, **extra) -> None:
    """Log a task's lines under the correlation id it was given, or under a fresh one.

    The argument first, then the header; an eager task with neither runs under the
    request's id. A task beat sent is routine work.
    """
    request = task.request
    given = _given(
        (kwargs or {}).get(CORRELATION_KWARG),
        getattr(request, CORRELATION_HEADER, None),
        correlation_id.get(),
    )
    routine = bool(getattr(request, BEAT_HEADER, False))
    request.correlation_work_ends = work_begins(given, routine=routine)


@signals.task_postrun.connect
def correlation_id_leave(task=None, **extra) -> None:
    """Restore the correlation id of whatever ran before the task (an eager task's request)."""
    work_ends = getattr(task.request, "correlation_work_ends", None)
    if work_ends is not None:
        work_ends()


def correlated_strategy(task, app, consumer, **options):
    """Return Celery's default message handler, run under each message's correlation id.

    Celery logs "Task ... received" (and discards an expired message) inside it, before
    any signal a project could use. A message with no id gets a fresh one, written into
    its headers, so the task's own lines carry the same.
    """
    handle = default_strategy(task, app, consumer, **options)

    def task_message_handler(message, *args, **kwargs):
        headers = message.headers
        routine = bool(headers.get(BEAT_HEADER))
        with working_on(headers.get(CORRELATION_HEADER), routine=routine) as given:
            headers[CORRELATION_HEADER] = given
            return handle(message, *args, **kwargs)

    return task_message_handler


class CorrelatedRequest(Request):
    """A task request whose lines from the worker's main process (a time limit, a failure
    such as a prefork child that died) carry the task's correlation id.
    """

    def on_timeout(self, soft, timeout):
        with working_on(self.request_dict.get(CORRELATION_HEADER)):
            return super().on_timeout(soft, timeout)

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):
        with working_on(self.request_dict.get(CORRELATION_HEADER)):
            return super().on_failure(
                exc_info, send_failed_event=send_failed_event, return_ok=return_ok
            )


class CorrelatedTask(Task):
    """The base of every task of the app: its worker lines carry its correlation id."""

    Strategy = "config.celery_logging:correlated_strategy"
    Request = "config.celery_logging:CorrelatedRequest"


class CorrelatedScheduler(PersistentScheduler):
    """Beat's scheduler: each tick is routine work under a fresh correlation id.

    What a tick sends carries that id in its headers, so the worker's lines for it (and
    for the catch-ups the sweep sends on) share it.
    """

    def tick(self, *args, **kwargs):
        with working_on(routine=True):
            return super().tick(*args, **kwargs)
