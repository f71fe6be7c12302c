"""How long loading an Order takes as its stream grows, without and with snapshots."""

import time
import uuid
from collections.abc import Callable
from decimal import Decimal

from .stats import summarise


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


def _repository(snapshots: bool):
    from orders_write.repository import EventLogOrderRepository

    # snapshot_every=0 reads no snapshot: the whole stream is replayed.
    return EventLogOrderRepository() if snapshots else EventLogOrderRepository(snapshot_every=0)


def load_seconds(order_id: uuid.UUID, repeats: int = 20, *, snapshots: bool = False) -> float:
    """Median seconds to rebuild the order (by default from its whole stream)."""
    orders, timings = _repository(snapshots), []
    for _ in range(repeats):
        start = time.perf_counter()
        orders.get(order_id)
        timings.append(time.perf_counter() - start)
    timings.sort()
    return timings[len(timings) // 2]


def _with_snapshot_every(every: int, make: Callable[[], uuid.UUID]) -> uuid.UUID:
    from django.conf import settings

    was = settings.ORDINAL_SNAPSHOT_EVERY
    settings.ORDINAL_SNAPSHOT_EVERY = every
    try:
        return make()
    finally:
        settings.ORDINAL_SNAPSHOT_EVERY = was


def measure_snapshots(events: int = 1000, every: int = 100, repeats: int = 50) -> dict:
    """Load one long order with its snapshot, and without (same order), beside a 10-event one.

    Side by side: each repeat times every case once, in turn, so drift hits all alike.
    Also the worst case for `every`: a stream whose newest snapshot is `every - 1`
    events behind its head (one event short of the next snapshot).
    """
    long_order = _with_snapshot_every(every, lambda: order_with_events(events))
    worst_order = _with_snapshot_every(every, lambda: order_with_events(events - 1))
    short_order = _with_snapshot_every(every, lambda: order_with_events(10))
    with_snapshots, without = _repository(True), _repository(False)
    cases = {
        "with_snapshot_ms": (with_snapshots, long_order),
        "without_snapshot_ms": (without, long_order),
        "worst_case_ms": (with_snapshots, worst_order),
        "ten_events_ms": (without, short_order),
    }
    timings: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, (orders, order_id) in cases.items():
            start = time.perf_counter()
            orders.get(order_id)
            timings[name].append((time.perf_counter() - start) * 1000)
    result: dict = {"events": events, "snapshot_every": every, "repeats": repeats}
    result.update({name: summarise(values) for name, values in timings.items()})
    median = {name: result[name]["median"] for name in cases}
    result["ratio_with_vs_without"] = median["with_snapshot_ms"] / median["without_snapshot_ms"]
    result["ratio_with_vs_ten_events"] = median["with_snapshot_ms"] / median["ten_events_ms"]
    result["ratio_worst_case_vs_ten_events"] = median["worst_case_ms"] / median["ten_events_ms"]
    result["target"] = "with snapshot <= 2x the 10-event load"
    return result


def measure(sizes: tuple[int, ...] = (10, 100, 1000)) -> dict:
    results = {}
    for size in sizes:
        seconds = load_seconds(order_with_events(size))
        results[str(size)] = {"median_ms": seconds * 1000, "us_per_event": seconds * 1e6 / size}
    return {"aggregate_load": results, "aggregate_load_snapshots": measure_snapshots()}
