"""Structured (JSON lines) logging that carries the correlation id of the current work."""

import json
import logging
import logging.config
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Outside any request or task.
NO_CORRELATION_ID = "-"
# Set by the request middleware and by Celery tasks; read by every log record.
correlation_id: ContextVar[str] = ContextVar("correlation_id", default=NO_CORRELATION_ID)
# True while the work is routine (a beat tick, a task beat sent): Celery's INFO lines
# about it are DEBUG, so an idle stack says next to nothing at INFO.
routine_work: ContextVar[bool] = ContextVar("routine_work", default=False)


def configure(config: dict) -> None:
    """Apply a logging configuration (settings.LOGGING); Python's warnings become records too.

    Django (LOGGING_CONFIG), the Celery worker and beat, and gunicorn all call this, so
    every process logs through the same handlers.
    """
    logging.config.dictConfig(config)
    # Otherwise a warning is printed as two bare lines of text between the records.
    logging.captureWarnings(True)


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def names_work(value: str | None) -> bool:
    """Whether `value` is a correlation id (not empty, not the "outside any work" mark)."""
    return bool(value) and value != NO_CORRELATION_ID


def work_begins(given: str | None = None, *, routine: bool = False) -> Callable[[], None]:
    """Log under `given` (a fresh id if it names none) from now on; return what ends it."""
    id_token = correlation_id.set(given if names_work(given) else new_correlation_id())
    routine_token = routine_work.set(routine)

    def work_ends() -> None:
        routine_work.reset(routine_token)
        correlation_id.reset(id_token)

    return work_ends


@contextmanager
def working_on(given: str | None = None, *, routine: bool = False) -> Iterator[str]:
    """Log the block under `given` (a fresh id if it names none); yield the id in use."""
    work_ends = work_begins(given, routine=routine)
    try:
        yield correlation_id.get()
    finally:
        work_ends()


class CorrelationIdFilter(logging.Filter):
    """Add `correlation_id` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        return True


class RoutineWorkFilter(logging.Filter):
    """Log Celery's INFO lines about routine work ("Sending due task", "received", ...) at DEBUG.

    The record was made at INFO; it is shown only if its logger is enabled for DEBUG.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or record.name.split(".")[0] != "celery":
            return True
        if not routine_work.get():
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line (a traceback is escaped into it)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", NO_CORRELATION_ID),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)
