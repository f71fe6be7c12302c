"""Structured (JSON lines) logging that carries the correlation id of the current work."""

import json
import logging
from contextvars import ContextVar

# Outside any request or task.
NO_CORRELATION_ID = "-"
# Set by the request middleware and by Celery tasks; read by every log record.
correlation_id: ContextVar[str] = ContextVar("correlation_id", default=NO_CORRELATION_ID)


class CorrelationIdFilter(logging.Filter):
    """Add `correlation_id` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line."""

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
        return json.dumps(entry, default=str)
