"""Load orders from their event streams and append what they recorded."""

from uuid import UUID

from eventlog import store

from .commands import CommandResult, Context
from .domain.events import event_from
from .domain.model import Order

STREAM_TYPE = "order"


def order_load(order_id: UUID) -> Order | None:
    """Rebuild an order from its stream, or return None if it has no events."""
    recorded = store.read_stream(order_id)
    if not recorded:
        return None
    return Order.from_events(str(order_id), (event_from(e.type, e.data) for e in recorded))


def order_save(order: Order, context: Context, command: object) -> CommandResult:
    """Append the order's pending events at the version it was loaded at."""
    loaded_version = order.version - len(order.pending)
    recorded = store.append(
        stream_type=STREAM_TYPE,
        stream_id=UUID(order.id),
        expected_version=loaded_version,
        events=[store.NewEvent(event.type, event.to_data()) for event in order.pending],
        metadata=context.metadata(command),
    )
    order.pending.clear()
    last = recorded[-1]
    return CommandResult(order_id=last.stream_id, version=last.version, position=last.position)
