"""The event log's Prometheus metric: events appended, by type (README "Metrics")."""

from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import Counter

EVENTS_APPENDED = Counter(
    "ordinal_events_appended",
    "Events appended to the log, by event type.",
    ["event_type"],
    registry=None,
)


def events_counted(types: Iterable[str]) -> None:
    """Count appended events of these types (one update per type)."""
    for event_type, count in Tally(types).items():
        EVENTS_APPENDED.labels(event_type).inc(count)
