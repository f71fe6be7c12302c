"""Temporal reads: the read models as they stood at an instant, folded from the log.

An answer as of an instant is the projections' feed applied up to the last event
recorded at or before it (`key_at`). An event's transaction id, which orders the feed,
is taken by the same statement that records its `recorded_at` (the append is the first
write of its transaction), so the feed runs in recording order, to within the clock's
jitter between appends that run at the same moment (microseconds; none on SQLite, whose
writers take turns). Each answer is built by the live projectors in memory (no row is
written), so its shape is the live one.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventlog import store
from eventlog.models import Event

from .models import CustomerSummary, OrderView, ProductSales
from .projectors import (
    CustomerSummaryProjector,
    HandlerFailed,
    OrderViewProjector,
    ProductSalesProjector,
)
from .snapshots import state_at

WRITE_DB = "default"
ORDER_STREAM = "order"


@dataclass(frozen=True)
class AsOf:
    """An answer as of an instant, and the last log position it includes (0: none)."""

    value: Any
    position: int


def key_at(instant: datetime) -> tuple[int, int]:
    """Return the feed key of the last event recorded at or before `instant` ((0, 0): none)."""
    # Ordered by recorded_at first, so the recorded_at index finds it in one probe.
    found = (
        Event.objects.using(WRITE_DB)
        .filter(recorded_at__lte=instant)
        .order_by("-recorded_at", "-tx_id", "-position")
        .values_list("tx_id", "position")[:1]
    )
    return next(iter(found), (0, 0))


def order_as_of(*, order_id: UUID, instant: datetime) -> AsOf | None:
    """Return the order as it was at `instant` (its own events folded), or None if it was not."""
    events = [
        e
        for e in store.read_stream(order_id)
        if e.recorded_at <= instant and e.stream_type == ORDER_STREAM
    ]
    if not events:
        return None
    projector = OrderViewProjector(complete=True)
    try:
        projector.apply(events, save=False)  # apply() upcasts each event first
        parked = False
    except HandlerFailed as failed:
        # As the live projection parks it: the last good state, marked as parked.
        if not failed.index:
            return None  # its first event is parked: live, it has no row either
        projector = OrderViewProjector(complete=True)
        projector.apply(events[: failed.index], save=False)
        events, parked = events[: failed.index], True
    order = OrderView(**projector.rows[order_id])
    order.parked = parked
    return AsOf(order, events[-1].position)


def product_sales_as_of(*, instant: datetime) -> AsOf:
    """Return the sales report as the caught-up read model showed it at `instant`."""
    at = key_at(instant)
    rows = state_at(ProductSalesProjector, at)
    sales = [ProductSales(**row) for _, row in sorted(rows.items()) if row["orders_count"] > 0]
    return AsOf(sales, at[1])


def customer_as_of(*, customer_id: str, instant: datetime) -> AsOf:
    """Return the customer's summary at `instant` (value None if they had not ordered yet)."""
    at = key_at(instant)
    row = state_at(CustomerSummaryProjector, at, customer_id).get(customer_id)
    return AsOf(None if row is None else CustomerSummary(**row), at[1])
