"""Where handlers get orders and put what they recorded: the event log, or memory for tests."""

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID, uuid5

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from eventlog import store
from eventlog.personal import DataKeys, OwnerForgotten, withheld
from eventlog.store import ConcurrencyError, NewEvent, RecordedEvent

from .commands import Command, CommandResult, Context
from .domain.customer import Customer
from .domain.errors import CustomerForgottenRefusal, UnreadableSnapshot
from .domain.events import CustomerEvent, Recordable, event_from, schema_versions
from .domain.model import Order
from .snapshots import DatabaseSnapshots, InMemorySnapshots, SnapshotStore, StoredSnapshot

STREAM_TYPE = "order"
CUSTOMER_STREAM_TYPE = "customer"
# A customer's own stream id is derived from their id (a username, not a UUID).
CUSTOMER_STREAMS = UUID("5d0c7a2e-8f0b-4c57-9a53-2b8f5e0f4c11")

logger = logging.getLogger(__name__)


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

    def read_stream(self, stream_id: UUID, after_version: int = 0) -> list[RecordedEvent]: ...

    def append(
        self,
        *,
        stream_type: str,
        stream_id: UUID,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: dict[str, Any] | None = None,
    ) -> list[RecordedEvent]: ...


class Sealer(Protocol):
    """What seals an event's personal fields before it is stored (`DataKeys` is one)."""

    def seal(
        self, event_type: str, stream_id: UUID, data: dict[str, Any], fields: Sequence[str]
    ) -> dict[str, Any]: ...


class ClearText:
    """A sealer that stores personal fields as they are: for the in-memory fakes."""

    def seal(
        self, event_type: str, stream_id: UUID, data: dict[str, Any], fields: Sequence[str]
    ) -> dict[str, Any]:
        return data


def stored(events: Iterable[Recordable], stream_id: UUID, sealer: Sealer) -> list[NewEvent]:
    """Return the events as the log stores them: personal fields sealed by `sealer`.

    Raise CustomerForgottenRefusal if an event holds personal data of a forgotten customer.
    """
    try:
        return [
            NewEvent(
                event.type,
                sealer.seal(event.type, stream_id, event.to_data(), event.personal_fields),
                event.schema_version,
            )
            for event in events
        ]
    except OwnerForgotten:
        raise CustomerForgottenRefusal(
            "This customer was forgotten: nothing new is recorded with their personal data."
        ) from None


class EventLogOrderRepository:
    """Orders kept as event streams: rebuilt from their events, saved by appending new ones.

    Snapshots make long streams load fast: `get` starts from the order's newest usable
    snapshot and applies only the events after it. A snapshot is usable when it was
    built from the current `schema_versions()` and `Order.SNAPSHOT_FORMAT` and restores
    cleanly; otherwise the whole stream is replayed, so no snapshot can change an answer.

    `add` writes a snapshot when an append crosses a multiple of `snapshot_every`
    (`ORDINAL_SNAPSHOT_EVERY`; 0 turns snapshots off, neither written nor read). It is
    written in the command's transaction (the command bus opens one per attempt), right
    after the append: it commits with the events or not at all, so it can never
    describe state the log does not hold, and since the append lock is held from the
    append to the commit, no other writer of the stream can get in between. The cost is
    one upsert in every `snapshot_every`-th command, while holding that lock. The upsert
    only moves forward (see `snapshots.replaces`) all the same.

    Personal fields are sealed by `sealer` (the customers' data keys) on the way in, and
    never opened on the way out: the aggregate keeps no personal data (DESIGN §12).
    """

    def __init__(
        self,
        log: StreamLog = store,
        snapshots: SnapshotStore | None = None,
        *,
        snapshot_every: int | None = None,
        sealer: Sealer | None = None,
    ) -> None:
        self.log = log
        self.sealer = DataKeys() if sealer is None else sealer
        self.snapshots = DatabaseSnapshots() if snapshots is None else snapshots
        every = settings.ORDINAL_SNAPSHOT_EVERY if snapshot_every is None else snapshot_every
        self.snapshot_every = max(every, 0)

    def get(self, order_id: UUID) -> Order | None:
        """Rebuild an order from its snapshot and later events, or None if it has no events."""
        order = self._from_snapshot(order_id) if self.snapshot_every else None
        if order is not None:
            return order
        recorded = self.log.read_stream(order_id)
        if not recorded:
            return None
        return Order.from_events(str(order_id), _decoded(recorded))

    def add(self, order: Order, context: Context, command: Command) -> CommandResult:
        """Append the order's pending events at the version it was loaded at.

        Then snapshot it if the append crossed a multiple of `snapshot_every`.
        """
        loaded_version = order.version - len(order.pending)
        stream_id = UUID(order.id)
        recorded = self.log.append(
            stream_type=STREAM_TYPE,
            stream_id=stream_id,
            expected_version=loaded_version,
            events=stored(order.pending, stream_id, self.sealer),
            metadata=context.metadata(command),
        )
        order.pending.clear()
        every = self.snapshot_every
        if every and order.version // every > loaded_version // every:
            self.snapshots.save(
                StoredSnapshot(
                    stream_id=UUID(order.id),
                    version=order.version,
                    state=order.snapshot(),
                    schema_versions=schema_versions(),
                    format=Order.SNAPSHOT_FORMAT,
                )
            )
        last = recorded[-1]
        return CommandResult(order_id=last.stream_id, version=last.version, position=last.position)

    def _from_snapshot(self, order_id: UUID) -> Order | None:
        """Return the order from its usable snapshot and the events after it, or None."""
        snapshot = self.snapshots.get(order_id)
        if (
            snapshot is None
            or snapshot.schema_versions != schema_versions()
            or snapshot.format != Order.SNAPSHOT_FORMAT
        ):
            return None  # built by other code: stale, never an error (e.g. after a deploy)
        try:
            order = Order.from_snapshot(str(order_id), snapshot.state, snapshot.version)
        except UnreadableSnapshot:
            logger.warning("Snapshot of order %s is unreadable; replaying its stream.", order_id)
            return None
        # Read from the snapshot's own version on: the log must hold that event, or the
        # snapshot claims a version the stream never reached.
        recorded = self.log.read_stream(order_id, after_version=snapshot.version - 1)
        if not recorded or recorded[0].version != snapshot.version:
            logger.warning("Snapshot of order %s is past its stream; replaying it.", order_id)
            return None
        try:
            order.replay(_decoded(recorded[1:]))
        except (KeyError, TypeError, ValueError, AttributeError):
            # The later events do not fit the state (e.g. they remove a line it lacks): the
            # snapshot is damaged. A fault of the events themselves recurs in the replay.
            logger.warning("Snapshot of order %s does not fit its stream; replaying it.", order_id)
            return None
        return order


def _decoded(recorded: Iterable[RecordedEvent]) -> Iterator[Any]:
    """Decode stored events into domain events (upcast to their current schema).

    Sealed personal fields are withheld (None): deciding a command needs none of them.
    """
    for e in recorded:
        yield event_from(e.type, withheld(e.data), e.schema_version)


def customer_stream_id(customer_id: str) -> UUID:
    """Return the id of the customer's own stream."""
    return uuid5(CUSTOMER_STREAMS, customer_id)


class CustomerRepository(Protocol):
    """What a command handler needs to load a customer and save their new events."""

    def get(self, customer_id: str) -> Customer:
        """Return the customer as their stream leaves them (version 0 if it is empty)."""
        ...

    def add(self, customer: Customer, context: Context, command: Command) -> CommandResult:
        """Save the customer's pending events; raise ConcurrencyError if they moved meanwhile."""
        ...


class EventLogCustomerRepository:
    """Customers kept as their own event streams, beside their orders' streams."""

    def __init__(self, log: StreamLog = store) -> None:
        self.log = log

    def get(self, customer_id: str) -> Customer:
        recorded = self.log.read_stream(customer_stream_id(customer_id))
        events: Iterable[CustomerEvent] = _decoded(recorded)
        return Customer.from_events(customer_id, events)

    def add(self, customer: Customer, context: Context, command: Command) -> CommandResult:
        stream_id = customer_stream_id(customer.id)
        recorded = self.log.append(
            stream_type=CUSTOMER_STREAM_TYPE,
            stream_id=stream_id,
            expected_version=customer.version - len(customer.pending),
            events=stored(customer.pending, stream_id, ClearText()),
            metadata=context.metadata(command),
        )
        customer.pending.clear()
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

    def read_stream(self, stream_id: UUID, after_version: int = 0) -> list[RecordedEvent]:
        """Return the stream's events with version > after_version, in version order."""
        return [e for e in self.events if e.stream_id == stream_id and e.version > after_version]

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
    """The event-log repository over an in-memory log and snapshot store: no database."""

    log: InMemoryEventLog
    snapshots: InMemorySnapshots

    def __init__(self, *, snapshot_every: int | None = None) -> None:
        super().__init__(
            InMemoryEventLog(),
            InMemorySnapshots(),
            snapshot_every=snapshot_every,
            sealer=ClearText(),
        )


def _through_json(data: dict[str, Any]) -> dict[str, Any]:
    # What the log's JSON column would give back: a copy, and an error for non-JSON data.
    decoded: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return decoded


class InMemoryCustomerRepository(EventLogCustomerRepository):
    """The customers' streams over an in-memory log: no database."""

    log: InMemoryEventLog

    def __init__(self) -> None:
        super().__init__(InMemoryEventLog())
