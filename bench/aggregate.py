"""How long loading an Order takes as its stream grows (do we need snapshots?)."""

import time
import uuid
from decimal import Decimal


def order_with_events(events: int) -> uuid.UUID:
    """Place an order and change its quantity until it has `events` events."""
    from config.bootstrap import command_bus
    from orders_write.commands import Actor, ChangeItemQuantity, Context, PlaceOrder
    from orders_write.domain.values import Line

    bus, context = command_bus(), Context(actor=Actor("bench", is_staff=True))
    order_id = uuid.uuid4()
    bus.dispatch(PlaceOrder(order_id, "bench", "EUR", (Line("A", 1, Decimal("1.00")),)), context)
    for n in range(events - 1):
        bus.dispatch(ChangeItemQuantity(order_id, "A", 2 + n % 2), context)
    return order_id


def load_seconds(order_id: uuid.UUID, repeats: int = 20) -> float:
    """Median seconds to rebuild the order from its stream."""
    from orders_write.repository import EventLogOrderRepository

    orders, timings = EventLogOrderRepository(), []
    for _ in range(repeats):
        start = time.perf_counter()
        orders.get(order_id)
        timings.append(time.perf_counter() - start)
    timings.sort()
    return timings[len(timings) // 2]


def measure(sizes: tuple[int, ...] = (10, 100, 1000)) -> dict:
    results = {}
    for size in sizes:
        seconds = load_seconds(order_with_events(size))
        results[str(size)] = {"median_ms": seconds * 1000, "us_per_event": seconds * 1e6 / size}
    return {"aggregate_load": results}
