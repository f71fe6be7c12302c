"""Temporal reads: the read models as they stood at an instant, folded from the log.

The log records events under its append lock with `recorded_at` never decreasing as
the position grows (eventlog.recorders), so "every event recorded at or before an
instant" is the log's prefix up to one position: `position_at`. Each answer is built
by the live projectors in memory (no row is written), so its shape is the live one.
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


def position_at(instant: datetime) -> int:
    """Return the last position recorded at or before `instant` (0 if none was)."""
    # Ordered by recorded_at first, so the recorded_at index finds it in one probe.
    found = (
        Event.objects.using(WRITE_DB)
        .filter(recorded_at__lte=instant)
        .order_by("-recorded_at", "-position")
        .values_list("position", flat=True)[:1]
    )
    return next(iter(found), 0)


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
    position = position_at(instant)
    rows = state_at(ProductSalesProjector, position)
    sales = [ProductSales(**row) for _, row in sorted(rows.items()) if row["orders_count"] > 0]
    return AsOf(sales, position)


def customer_as_of(*, customer_id: str, instant: datetime) -> AsOf:
    """Return the customer's summary at `instant` (value None if they had not ordered yet)."""
    position = position_at(instant)
    row = state_at(CustomerSummaryProjector, position, customer_id).get(customer_id)
    return AsOf(None if row is None else CustomerSummary(**row), position)
