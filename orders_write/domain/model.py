"""The Order aggregate: it checks every rule, then records what happened as events."""

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, ClassVar

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
    UnreadableSnapshot,
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
STATE_KEYS = frozenset({"customer_id", "status", "currency", "lines", "tracking_number"})


class Order:
    """An order, rebuilt from its events; commands append new events to `pending`.

    It keeps no personal data (the shipping address): no rule needs it, so loading an
    order needs no customer's data key, and no snapshot of an order holds personal data.
    """

    # The shape of `snapshot()`: a snapshot of another shape is ignored, never misread.
    # 2: without the shipping address (format 1 had it; migration 0005 deleted those).
    SNAPSHOT_FORMAT: ClassVar[int] = 2

    def __init__(self, order_id: str) -> None:
        self.id = order_id
        self.version = 0
        self.customer_id = ""
        self.status = ""
        self.currency = ""
        self.lines: dict[str, Line] = {}
        self.tracking_number = ""
        self.pending: list[Event] = []

    @classmethod
    def from_events(cls, order_id: str, events: Iterable[Event]) -> "Order":
        """Rebuild an order by applying its past events in order."""
        order = cls(order_id)
        order.replay(events)
        return order

    def replay(self, events: Iterable[Event]) -> None:
        """Apply past events that follow the order's current version, in order."""
        for event in events:
            self._apply(event)

    # --- snapshots ----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Return the order's state at `version` as JSON-able data (money as strings).

        Everything a later command or event reads is here; `total` is not, since it is
        computed from the lines. Lines are a list: their order is the order of the items
        a cancellation records.
        """
        return {
            "customer_id": self.customer_id,
            "status": self.status,
            "currency": self.currency,
            "lines": [
                {"sku": line.sku, "quantity": line.quantity, "unit_price": str(line.unit_price)}
                for line in self.lines.values()
            ],
            "tracking_number": self.tracking_number,
        }

    @classmethod
    def from_snapshot(cls, order_id: str, state: Any, version: int) -> "Order":
        """Restore an order at `version` from what `snapshot()` returned.

        Raise UnreadableSnapshot for anything `snapshot()` could not have produced, so
        the caller replays the stream instead of trusting a damaged or foreign state.
        """
        try:
            return cls._restore(order_id, state, version)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise UnreadableSnapshot(f"Snapshot of order {order_id}: {exc!r}") from exc

    @classmethod
    def _restore(cls, order_id: str, state: Any, version: int) -> "Order":
        if not isinstance(state, dict) or set(state) != STATE_KEYS:
            raise ValueError("not a state of this format")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"version {version!r}")
        if state["status"] not in (PLACED, SHIPPED, CANCELLED):
            raise ValueError(f"status {state['status']!r}")
        lines = [Line.create(ln["sku"], ln["quantity"], ln["unit_price"]) for ln in state["lines"]]
        if not 1 <= len(lines) <= values.MAX_ITEMS:
            raise ValueError(f"{len(lines)} lines")
        values.distinct_skus(line.sku for line in lines)
        order = cls(order_id)
        order.version = version
        order.customer_id = values.customer_id(state["customer_id"])
        order.status = state["status"]
        order.currency = values.currency(state["currency"])
        order.lines = {line.sku: line for line in lines}
        order.tracking_number = values.optional_text(
            state["tracking_number"], "tracking_number", values.MAX_TRACKING_NUMBER_LENGTH
        )
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
