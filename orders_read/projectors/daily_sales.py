"""Project order events into DailySales: orders and net revenue booked per day and currency."""

from collections.abc import Iterable
from datetime import UTC, date
from typing import Any

from ..models import DailySales
from .base import Projector, Recorded, money
from .merge import ADD


def day_and_currency(event: Recorded) -> tuple[date, str]:
    """Return the day (UTC) the event was recorded on and the currency it is in."""
    at = event.recorded_at
    if at.tzinfo is not UTC:  # the log's own are UTC already: spare the conversion
        at = at.astimezone(UTC)
    return at.date(), event.data["currency"]


def day_key(day: date, currency: str) -> str:
    """Return the key of a day's row in one currency: "2025-03-01:EUR"."""
    return f"{day.isoformat()}:{currency}"


class DailySalesProjector(Projector):
    """Keep one DailySales row per day and currency; each event books on the day it happened.

    Placing books the order's total, an item change its units times the event's unit
    price, and cancelling takes the order's total back out: summed over every day, an
    order's bookings come to its total, or to zero once it is cancelled.
    """

    name = "daily_sales"
    model = DailySales
    merges = {"orders_placed": ADD, "orders_cancelled": ADD, "revenue": ADD}

    def keys(self, event: Recorded) -> Iterable[str]:
        return (day_key(*day_and_currency(event)),)

    def on_order_placed(self, event: Recorded) -> None:
        day = self._day(event)
        day["orders_placed"] += 1
        day["revenue"] += money(event.data["total"])

    def on_item_added(self, event: Recorded) -> None:
        self._book(event, event.data["quantity"])

    def on_item_quantity_changed(self, event: Recorded) -> None:
        self._book(event, event.data["quantity"] - event.data["previous_quantity"])

    def on_item_removed(self, event: Recorded) -> None:
        self._book(event, -event.data["quantity"])

    def on_order_cancelled(self, event: Recorded) -> None:
        day = self._day(event)
        day["orders_cancelled"] += 1
        day["revenue"] -= money(event.data["total"])

    def _book(self, event: Recorded, units: int) -> None:
        self._day(event)["revenue"] += units * money(event.data["unit_price"])

    def _day(self, event: Recorded) -> dict[str, Any]:
        day, currency = day_and_currency(event)
        return self.row_or_new(day_key(day, currency), day=day, currency=currency)
