"""The Order aggregate: it checks every rule, then records what happened as events."""

from collections.abc import Iterable, Sequence
from decimal import Decimal

from . import values
from .address import ShippingAddress
from .errors import (
    DuplicateSku,
    InvalidValue,
    LastItem,
    OrderAlreadyExists,
    OrderNotPlaced,
    QuantityUnchanged,
    TooManyItems,
    UnknownSku,
)
from .events import (
    Event,
    ItemAdded,
    ItemQuantityChanged,
    ItemRemoved,
    OrderCancelled,
    OrderPlaced,
    OrderShipped,
)
from .values import Line

PLACED, SHIPPED, CANCELLED = "placed", "shipped", "cancelled"


class Order:
    """An order, rebuilt from its events; commands append new events to `pending`."""

    def __init__(self, order_id: str) -> None:
        self.id = order_id
        self.version = 0
        self.customer_id = ""
        self.status = ""
        self.currency = ""
        self.lines: dict[str, Line] = {}
        self.shipping_address: ShippingAddress | None = None
        self.tracking_number = ""
        self.pending: list[Event] = []

    @classmethod
    def from_events(cls, order_id: str, events: Iterable[Event]) -> "Order":
        """Rebuild an order by applying its past events in order."""
        order = cls(order_id)
        for event in events:
            order._apply(event)
        return order

    @property
    def exists(self) -> bool:
        return self.version > 0 or bool(self.pending)

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines.values()), Decimal("0.00"))

    # --- commands ---------------------------------------------------------------

    def place(
        self,
        customer_id: str,
        currency: str,
        items: Sequence[Line],
        shipping_address: ShippingAddress | dict[str, str] | None = None,
    ) -> None:
        """Place the order with its first items."""
        if self.exists:
            raise OrderAlreadyExists(f"Order {self.id} already exists.")
        if not 1 <= len(items) <= values.MAX_ITEMS:
            raise InvalidValue("items", f"Must hold 1 to {values.MAX_ITEMS} items.")
        values.distinct_skus(line.sku for line in items)
        lines = tuple(Line.create(i.sku, i.quantity, i.unit_price) for i in items)
        self._record(
            OrderPlaced(
                order_id=self.id,
                customer_id=values.customer_id(customer_id),
                currency=values.currency(currency),
                items=lines,
                shipping_address=values.shipping_address(shipping_address),
                total=sum((line.total for line in lines), Decimal("0.00")),
            )
        )

    def add_item(self, sku: str, quantity: int, unit_price: Decimal | str) -> None:
        """Add a line for a SKU the order does not have yet."""
        line = Line.create(sku, quantity, unit_price)
        self._require_placed()
        if line.sku in self.lines:
            raise DuplicateSku(f"SKU {line.sku} is already in the order; change its quantity.")
        if len(self.lines) >= values.MAX_ITEMS:
            raise TooManyItems(f"An order holds at most {values.MAX_ITEMS} items.")
        self._record(
            ItemAdded(
                **self._item_event_base(),
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                total=self.total + line.total,
            )
        )

    def change_quantity(self, sku: str, quantity: int) -> None:
        """Set how many units of a SKU the order holds."""
        sku, quantity = values.sku(sku), values.quantity(quantity)
        self._require_placed()
        line = self._line(sku)
        if line.quantity == quantity:
            raise QuantityUnchanged(f"SKU {sku} already has quantity {quantity}.")
        self._record(
            ItemQuantityChanged(
                **self._item_event_base(),
                sku=sku,
                quantity=quantity,
                previous_quantity=line.quantity,
                unit_price=line.unit_price,
                total=self.total + (quantity - line.quantity) * line.unit_price,
            )
        )

    def remove_item(self, sku: str) -> None:
        """Remove a SKU's line; the last line cannot go (cancel the order instead)."""
        sku = values.sku(sku)
        self._require_placed()
        line = self._line(sku)
        if len(self.lines) == 1:
            raise LastItem(f"SKU {sku} is the last item; cancel the order instead.")
        self._record(
            ItemRemoved(
                **self._item_event_base(),
                sku=sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                total=self.total - line.total,
            )
        )

    def ship(self, tracking_number: str | None = None) -> None:
        """Ship the order; shipped is final."""
        tracking = values.optional_text(
            tracking_number, "tracking_number", values.MAX_TRACKING_NUMBER_LENGTH
        )
        self._require_placed()
        self._record(
            OrderShipped(order_id=self.id, customer_id=self.customer_id, tracking_number=tracking)
        )

    def cancel(self, reason: str | None = None) -> None:
        """Cancel the order; cancelled is final."""
        reason = values.optional_text(reason, "reason", values.MAX_REASON_LENGTH)
        self._require_placed()
        self._record(
            OrderCancelled(
                **self._item_event_base(),
                reason=reason,
                items=tuple(self.lines.values()),
                total=self.total,
            )
        )

    # --- rules ------------------------------------------------------------------

    def _require_placed(self) -> None:
        if self.status != PLACED:
            state = self.status or "not placed"
            raise OrderNotPlaced(f"Order {self.id} is {state}; only placed orders can change.")

    def _line(self, sku: str) -> Line:
        try:
            return self.lines[sku]
        except KeyError:
            raise UnknownSku(f"SKU {sku} is not in the order.") from None

    def _item_event_base(self) -> dict[str, str]:
        return {"order_id": self.id, "customer_id": self.customer_id, "currency": self.currency}

    # --- state changes: one small method per event ------------------------------

    def _record(self, event: Event) -> None:
        self._apply(event)
        self.pending.append(event)

    def _apply(self, event: Event) -> None:
        getattr(self, f"_on_{type(event).__name__}")(event)
        self.version += 1

    def _on_OrderPlaced(self, event: OrderPlaced) -> None:
        self.customer_id = event.customer_id
        self.currency = event.currency
        self.status = PLACED
        self.lines = {line.sku: line for line in event.items}
        self.shipping_address = event.shipping_address

    def _on_ItemAdded(self, event: ItemAdded) -> None:
        self.lines[event.sku] = Line(event.sku, event.quantity, event.unit_price)

    def _on_ItemQuantityChanged(self, event: ItemQuantityChanged) -> None:
        self.lines[event.sku] = Line(event.sku, event.quantity, event.unit_price)

    def _on_ItemRemoved(self, event: ItemRemoved) -> None:
        del self.lines[event.sku]

    def _on_OrderShipped(self, event: OrderShipped) -> None:
        self.status = SHIPPED
        self.tracking_number = event.tracking_number

    def _on_OrderCancelled(self, event: OrderCancelled) -> None:
        self.status = CANCELLED
