"""An `eventsourcing` aggregate whose events carry the same data as Ordinal's.

The benchmark records Ordinal's own log through it (`bench.catchup.seed_eventsourcing`),
so both logs hold the same orders: the same ids, SKUs, quantities, prices and totals.
"""

from uuid import UUID

from eventsourcing.domain import Aggregate, event


class BenchOrder(Aggregate):
    @staticmethod
    def create_id(order_id: str) -> UUID:
        return UUID(order_id)

    @event("OrderPlaced")
    def __init__(
        self,
        order_id: str,
        customer_id: str,
        currency: str,
        items: list,
        shipping_address: dict | None,
        total: str,
    ) -> None:
        self.customer_id, self.currency, self.total = customer_id, currency, total

    @event("ItemAdded")
    def add_item(
        self, customer_id: str, currency: str, sku: str, quantity: int, unit_price: str, total: str
    ) -> None:
        self.total = total

    @event("ItemQuantityChanged")
    def change_quantity(
        self,
        customer_id: str,
        currency: str,
        sku: str,
        quantity: int,
        previous_quantity: int,
        unit_price: str,
        total: str,
    ) -> None:
        self.total = total

    @event("ItemRemoved")
    def remove_item(
        self, customer_id: str, currency: str, sku: str, quantity: int, unit_price: str, total: str
    ) -> None:
        self.total = total

    @event("OrderShipped")
    def ship(self, customer_id: str, tracking_number: str) -> None:
        self.status = "shipped"

    @event("OrderCancelled")
    def cancel(self, customer_id: str, currency: str, reason: str, items: list, total: str) -> None:
        self.status = "cancelled"


# Ordinal's event type -> the method that records it (OrderPlaced creates the aggregate).
METHODS = {
    "ItemAdded": BenchOrder.add_item,
    "ItemQuantityChanged": BenchOrder.change_quantity,
    "ItemRemoved": BenchOrder.remove_item,
    "OrderShipped": BenchOrder.ship,
    "OrderCancelled": BenchOrder.cancel,
}


def record(orders: dict, stream_id: object, kind: str, data: dict) -> BenchOrder.Event:
    """Record one of Ordinal's events (type, data) on its order in `orders`; return it.

    `orders` maps stream ids to the BenchOrders recorded so far (OrderPlaced adds one).
    """
    if kind == "OrderPlaced":
        orders[stream_id] = BenchOrder(**data)
    else:
        # Later events name their order by the aggregate's id, not in their data.
        METHODS[kind](orders[stream_id], **{k: v for k, v in data.items() if k != "order_id"})
    (event,) = orders[stream_id].collect_events()
    return event
