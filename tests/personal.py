"""Helpers for tests about personal data: open a stored event as the readers do."""

from typing import Any

from eventlog.models import Event
from eventlog.personal import Opener
from eventlog.store import ROW_FIELDS, RecordedEvent
from orders_write.domain.events import personal_fields


def recorded(row: Event) -> RecordedEvent:
    """Return the log row as the recorders give it."""
    return RecordedEvent(*(getattr(row, name) for name in ROW_FIELDS))


def opened_data(row: Event) -> dict[str, Any]:
    """Return the row's data with its personal fields opened (or redacted)."""
    event = recorded(row)
    return Opener([event], personal_fields()).open(event).data
