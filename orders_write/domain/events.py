"""Order events: what happened, named in the past tense, with what projectors need."""

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, ClassVar

from .values import Line


@dataclass(frozen=True)
class Event:
    """Base of the order events; each knows how to become JSON data and back."""

    order_id: str
    customer_id: str

    registry: ClassVar[dict[str, type["Event"]]] = {}
    # The shape this class writes; older stored shapes are upcast to it on read.
    schema_version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Event.registry[cls.__name__] = cls

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_data(self) -> dict[str, Any]:
        """Return the event as JSON-compatible data (money as decimal strings)."""
        return {f.name: _encode(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "Event":
        """Rebuild an event from the data `to_data` produced."""
        return cls(**{f.name: _decode(f.name, data[f.name]) for f in fields(cls)})


def event_from(type_name: str, data: dict[str, Any], schema_version: int = 1) -> Event:
    """Rebuild a stored event from its type name, data and the schema version it was stored at."""
    from .upcasting import upcast

    return Event.registry[type_name].from_data(upcast(type_name, schema_version, data))


def schema_versions() -> dict[str, int]:
    """Return the current schema version of every event type (what snapshots are stamped with)."""
    return {name: cls.schema_version for name, cls in sorted(Event.registry.items())}


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, Line):
        return {"sku": value.sku, "quantity": value.quantity, "unit_price": str(value.unit_price)}
    return value


def _decode(name: str, value: Any) -> Any:
    if name in ("unit_price", "total"):
        return Decimal(value)
    if name == "items":
        return tuple(Line(i["sku"], i["quantity"], Decimal(i["unit_price"])) for i in value)
    return value


@dataclass(frozen=True)
class OrderPlaced(Event):
    currency: str
    items: tuple[Line, ...]
    shipping_address: dict[str, str]
    total: Decimal


@dataclass(frozen=True)
class ItemAdded(Event):
    currency: str
    sku: str
    quantity: int
    unit_price: Decimal
    total: Decimal  # the order's total after the change


@dataclass(frozen=True)
class ItemQuantityChanged(Event):
    currency: str
    sku: str
    quantity: int
    previous_quantity: int
    unit_price: Decimal
    total: Decimal


@dataclass(frozen=True)
class ItemRemoved(Event):
    currency: str
    sku: str
    quantity: int  # how many units the removed line had
    unit_price: Decimal
    total: Decimal


@dataclass(frozen=True)
class OrderShipped(Event):
    tracking_number: str


@dataclass(frozen=True)
class OrderCancelled(Event):
    # The lines and total at cancellation, so projectors can take them back out.
    currency: str
    reason: str
    items: tuple[Line, ...]
    total: Decimal
