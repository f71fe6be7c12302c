"""Project order events into CustomerSummary: counts and totals per customer."""

from collections.abc import Iterable

from ..models import CustomerSummary
from .base import CHANGED_ROWS, Projector, Recorded, add_money, money
from .merge import ADD, ADD_MAP, MAX


class CustomerSummaryProjector(Projector):
    """Keep one CustomerSummary row per customer; cancelled orders leave the totals."""

    name = "customer_summary"
    model = CustomerSummary
    merges = {
        "orders_count": ADD,
        "open_orders": ADD,
        "totals": ADD_MAP,
        "last_order_at": MAX,
    }
    snapshot_rows = CHANGED_ROWS

    def keys(self, event: Recorded) -> Iterable[str]:
        return (event.data["customer_id"],)

    def on_order_placed(self, event: Recorded) -> None:
        data = event.data
        # A new row starts from the model's defaults: no orders, empty totals.
        summary = self.row_or_new(data["customer_id"])
        summary["orders_count"] += 1
        summary["open_orders"] += 1
        add_money(summary["totals"], data["currency"], money(data["total"]))
        if summary["last_order_at"] is None or event.recorded_at > summary["last_order_at"]:
            summary["last_order_at"] = event.recorded_at

    def on_item_added(self, event: Recorded) -> None:
        self._add_units(event, event.data["quantity"])

    def on_item_quantity_changed(self, event: Recorded) -> None:
        self._add_units(event, event.data["quantity"] - event.data["previous_quantity"])

    def on_item_removed(self, event: Recorded) -> None:
        self._add_units(event, -event.data["quantity"])

    def on_order_shipped(self, event: Recorded) -> None:
        self.row(event.data["customer_id"])["open_orders"] -= 1

    def on_order_cancelled(self, event: Recorded) -> None:
        summary = self.row(event.data["customer_id"])
        summary["open_orders"] -= 1
        add_money(summary["totals"], event.data["currency"], -money(event.data["total"]))

    def _add_units(self, event: Recorded, units: int) -> None:
        data = event.data
        summary = self.row(data["customer_id"])
        add_money(summary["totals"], data["currency"], units * money(data["unit_price"]))
