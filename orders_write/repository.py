"""Where handlers get orders and put what they recorded: the event log, or memory for tests."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder

from eventlog import store
from eventlog.store import ConcurrencyError, NewEvent, RecordedEvent

from .commands import Command, CommandResult, Context
from .domain.events import event_from
from .domain.model import Order

STREAM_TYPE = "order"


class OrderRepository(Protocol):
    """What a command handler needs to load an order and save its new events."""

    def get(self, order_id: UUID) -> Order | None:
        """Return the order as its events leave it, or None if it has none."""
        ...

    def add(self, order: Order, context: Context, command: Command) -> CommandResult:
        """Save the order's pending events; raise ConcurrencyError if it moved meanwhile."""
        ...


class StreamLog(Protocol):
    """The part of the event log an order repository uses (`eventlog.store` is one)."""

    def read_stream(self, stream_id: UUID) -> list[RecordedEvent]: ...

    def append(
        self,
        *,
        stream_type: str,
        stream_id: UUID,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: dict[str, Any] | None = None,
    ) -> list[RecordedEvent]: ...


class EventLogOrderRepository:
    """Orders kept as event streams: rebuilt from their events, saved by appending new ones."""

    def __init__(self, log: StreamLog = store) -> None:
        self.log = log

    def get(self, order_id: UUID) -> Order | None:
        """Rebuild an order from its stream, or return None if it has no events."""
        recorded = self.log.read_stream(order_id)
        if not recorded:
            return None
        # event_from upcasts each stored shape to its class's current one first.
        events = (event_from(e.type, e.data, e.schema_version) for e in recorded)
        return Order.from_events(str(order_id), events)

    def add(self, order: Order, context: Context, command: Command) -> CommandResult:
        """Append the order's pending events at the version it was loaded at."""
        loaded_version = order.version - len(order.pending)
        recorded = self.log.append(
            stream_type=STREAM_TYPE,
            stream_id=UUID(order.id),
            expected_version=loaded_version,
            events=[
                NewEvent(event.type, event.to_data(), event.schema_version)
                for event in order.pending
            ],
            metadata=context.metadata(command),
        )
        order.pending.clear()
        last = recorded[-1]
        return CommandResult(order_id=last.stream_id, version=last.version, position=last.position)


class InMemoryEventLog:
    """A list of events in memory that keeps the event log's rules, for tests.

    Versions run 1..n per stream, an append at the wrong version raises the log's own
    ConcurrencyError and writes nothing, positions increase across streams, and data
    goes through JSON as it does in the database.
    """

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []

    def read_stream(self, stream_id: UUID) -> list[RecordedEvent]:
        """Return every event of a stream, in version order."""
        return [event for event in self.events if event.stream_id == stream_id]

    def append(
        self,
        *,
        stream_type: str,
        stream_id: UUID,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: dict[str, Any] | None = None,
    ) -> list[RecordedEvent]:
        """Append events to a stream that must be at `expected_version`."""
        if not events:
            raise ValueError("append() needs at least one event.")
        actual = len(self.read_stream(stream_id))
        if actual != expected_version:
            raise ConcurrencyError(stream_id, expected_version, actual)
        now, head = datetime.now(UTC), len(self.events)
        recorded = [
            RecordedEvent(
                head + n,
                stream_type,
                stream_id,
                expected_version + n,
                event.type,
                _through_json(event.data),
                _through_json(metadata or {}),
                now,
                event.schema_version,
            )
            for n, event in enumerate(events, start=1)
        ]
        self.events.extend(recorded)
        return recorded


class InMemoryOrderRepository(EventLogOrderRepository):
    """The event-log repository over an in-memory log: handlers tested without a database."""

    log: InMemoryEventLog

    def __init__(self) -> None:
        super().__init__(InMemoryEventLog())


def _through_json(data: dict[str, Any]) -> dict[str, Any]:
    # What the log's JSON column would give back: a copy, and an error for non-JSON data.
    decoded: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return decoded
