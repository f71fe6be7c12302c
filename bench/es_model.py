"""An `eventsourcing` aggregate whose events carry the same data as Ordinal's."""

from eventsourcing.domain import Aggregate, event


class BenchOrder(Aggregate):
    @event("OrderPlaced")
    def __init__(self, customer_id: str, currency: str, items: list, total: str) -> None:
        self.customer_id, self.currency, self.items, self.total = (
            customer_id,
            currency,
            items,
            total,
        )

    @event("ItemAdded")
    def add_item(self, sku: str, quantity: int, unit_price: str, total: str) -> None:
        self.total = total

    @event("ItemQuantityChanged")
    def change_quantity(self, sku: str, quantity: int, unit_price: str, total: str) -> None:
        self.total = total

    @event("ItemRemoved")
    def remove_item(self, sku: str, total: str) -> None:
        self.total = total

    @event("OrderShipped")
    def ship(self, tracking_number: str) -> None:
        self.status = "shipped"
