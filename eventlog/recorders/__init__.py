"""Recorders of the event log, one per database backend, and the choice between them."""

from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from .base import Recorder
from .postgresql import PostgreSQLRecorder
from .sqlite import SQLiteRecorder

RECORDERS: dict[str, type[Recorder]] = {
    "postgresql": PostgreSQLRecorder,
    "sqlite": SQLiteRecorder,
}


def recorder_for(alias: str) -> Recorder:
    """Return the recorder for the backend of database `alias`."""
    # The one place that looks at the vendor: the recorders themselves never branch on it.
    vendor = connections[alias].vendor
    if vendor not in RECORDERS:
        raise ImproperlyConfigured(f"The event log has no recorder for {vendor} ({alias!r}).")
    return RECORDERS[vendor](alias)
