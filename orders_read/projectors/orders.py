"""Project order events into OrderView: one row per order, as the API shows it."""

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from ..models import CANCELLED, PLACED, SHIPPED, OrderView
from .base import READ_DB, Projector, Recorded, money


def _line(sku: str, quantity: int, unit_price: str) -> dict[str, object]:
    price = money(unit_price)
    return {
        "sku": sku,
        "quantity": quantity,
        "unit_price": str(price),
        "line_total": str(price * quantity),
    }


class OrderViewProjector(Projector):
    """Keep one OrderView row per order."""

    name = "order_view"
    model = OrderView
    reads_personal_data = True

    def keys(self, event: Recorded) -> Iterable[UUID]:
        if event.type == "CustomerForgotten":
            return self._orders_of(event.data["customer_id"])
        return (event.stream_id,)

    def keys_to_lock_first(self, events: Sequence[Recorded]) -> Iterable[str]:
        # A customer's forgetting and their orders' placing take turns: whichever comes
        # second sees the first's rows (to redact) or its destroyed key (to open).
        kinds = ("OrderPlaced", "CustomerForgotten")
        return {e.data.get("customer_id") for e in events if e.type in kinds} - {None}

    def _orders_of(self, customer_id: str) -> set[UUID]:
        """Return the ids of the customer's orders: those held in memory and in the table."""
        held = {key for key, row in self.rows.items() if row["customer_id"] == customer_id}
        if self.complete:
            return held
        stored = self.model.objects.using(READ_DB).filter(customer_id=customer_id)
        return held | set(stored.values_list("pk", flat=True))

    def on_order_placed(self, event: Recorded) -> None:
        data = event.data
        items = [_line(i["sku"], i["quantity"], i["unit_price"]) for i in data["items"]]
        self.new_row(
            event.stream_id,
            customer_id=data["customer_id"],
            status=PLACED,
            currency=data["currency"],
            items=items,
            item_count=sum([i["quantity"] for i in items]),
            total=money(data["total"]),
            shipping_address=data.get("shipping_address") or {},
            redacted=data.get("redacted", False),
            placed_at=event.recorded_at,
            placed_position=event.position,
            updated_at=event.recorded_at,
            version=event.version,
        )

    def on_item_added(self, event: Recorded) -> None:
        order = self._touch(event)
        data = event.data
        order["items"] = [*order["items"], _line(data["sku"], data["quantity"], data["unit_price"])]
        self._recount(order)

    def on_item_quantity_changed(self, event: Recorded) -> None:
        order = self._touch(event)
        data = event.data
        new = _line(data["sku"], data["quantity"], data["unit_price"])
        order["items"] = [new if i["sku"] == data["sku"] else i for i in order["items"]]
        self._recount(order)

    def on_item_removed(self, event: Recorded) -> None:
        order = self._touch(event)
        order["items"] = [i for i in order["items"] if i["sku"] != event.data["sku"]]
        self._recount(order)

    def on_order_shipped(self, event: Recorded) -> None:
        order = self._touch(event)
        order["status"] = SHIPPED
        order["tracking_number"] = event.data.get("tracking_number") or ""
        order["shipped_at"] = event.recorded_at

    def on_order_cancelled(self, event: Recorded) -> None:
        order = self._touch(event)
        order["status"] = CANCELLED
        order["cancelled_at"] = event.recorded_at

    def on_customer_forgotten(self, event: Recorded) -> None:
        # Every order of theirs (`keys` loaded them all) loses its personal fields;
        # amounts and dates stay.
        customer_id = event.data["customer_id"]
        for key in [k for k, row in self.rows.items() if row["customer_id"] == customer_id]:
            order = self.row(key)
            order["shipping_address"] = {}
            order["redacted"] = True

    def _touch(self, event: Recorded) -> dict[str, Any]:
        order = self.row(event.stream_id)
        order["version"] = event.version
        order["updated_at"] = event.recorded_at
        if "total" in event.data:
            order["total"] = money(event.data["total"])
        return order

    @staticmethod
    def _recount(order: dict[str, Any]) -> None:
        # The total comes from the event (the aggregate's), only the units are counted here.
        order["item_count"] = sum([i["quantity"] for i in order["items"]])
