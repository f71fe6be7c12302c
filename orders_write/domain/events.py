"""Order events: what happened, named in the past tense, with what projectors need."""

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from decimal import Decimal
from functools import cache
from typing import Any, ClassVar

from .address import ShippingAddress
from .upcasting import lift
from .values import Line


class Recordable:
    """What every event class shares: a registry by type name, and JSON data both ways.

    A subclass made with `base=True` is a base of other events, not one of its own.
    """

    registry: ClassVar[dict[str, type["Recordable"]]] = {}
    # The shape this class writes; older stored shapes are upcast to it on read.
    schema_version: ClassVar[int] = 1
    # The fields holding personal data: stored encrypted under the customer's data key,
    # read as redacted once the customer is forgotten (DESIGN §12).
    personal_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, base: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not base:
            Recordable.registry[cls.__name__] = cls

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_data(self) -> dict[str, Any]:
        """Return the event as JSON-compatible data (money as decimal strings)."""
        return {f.name: _encode(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "Recordable":
        """Rebuild an event from the data `to_data` produced, decoding by declared field type."""
        return cls(**{name: decode(data[name]) for name, decode in _decoders(cls)})


@dataclass(frozen=True)
class Event(Recordable, base=True):
    """Base of the order events: each belongs to one order of one customer."""

    order_id: str
    customer_id: str


@dataclass(frozen=True)
class CustomerEvent(Recordable, base=True):
    """Base of the events of a customer's own stream."""

    customer_id: str


class UnknownSchemaVersion(ValueError):
    """A stored event's schema version has no upcaster path to its class's current one."""


def event_from(type_name: str, data: dict[str, Any], schema_version: int = 1) -> Recordable:
    """Rebuild a stored event from its type name, data and the schema version it was stored at."""
    cls = Recordable.registry[type_name]
    reached, data = lift(type_name, schema_version, data)
    if reached != cls.schema_version:
        # Newer than this code (a rolling deploy) or a missing upcaster: refuse, loudly.
        raise UnknownSchemaVersion(
            f"{type_name} v{schema_version} reaches v{reached}, not v{cls.schema_version}."
        )
    return cls.from_data(data)


def schema_versions() -> dict[str, int]:
    """Return the current schema version of every event type (what snapshots are stamped with)."""
    return {name: cls.schema_version for name, cls in sorted(Recordable.registry.items())}


def personal_fields() -> dict[str, tuple[str, ...]]:
    """Return the personal fields of every event type that has any."""
    registry = Recordable.registry
    return {name: cls.personal_fields for name, cls in registry.items() if cls.personal_fields}


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in fields(value)}
    return value


@cache
def _decoders(cls: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """Return (field name, decoder) per field of a dataclass, from its type hints."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _decoder(hints[f.name])) for f in fields(cls))


def _decoder(hint: Any) -> Callable[[Any], Any]:
    """Return the function that turns JSON data back into a value of the declared type."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        if len(present) != 1 or len(args) != 2:
            raise TypeError(f"Only Optional[X] unions can be decoded, not {hint}.")
        inner = _decoder(present[0])
        return lambda value: None if value is None else inner(value)
    if origin is tuple:
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"Only tuple[X, ...] can be decoded, not {hint}.")
        item = _decoder(args[0])
        return lambda value: tuple(item(v) for v in value)
    if origin is dict:
        return dict
    if hint is Decimal:
        return Decimal
    if hint in (str, int, bool, float, Any):
        return _same
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        parts = _decoders(hint)
        return lambda value: hint(**{name: decode(value[name]) for name, decode in parts})
    raise TypeError(f"No decoder for fields of type {hint}.")


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class OrderPlaced(Event):
    currency: str
    items: tuple[Line, ...]
    shipping_address: ShippingAddress | None
    total: Decimal

    # v2: a structured address (v1 stored a free-form object; see upcasting).
    schema_version: ClassVar[int] = 2
    personal_fields: ClassVar[tuple[str, ...]] = ("shipping_address",)


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


@dataclass(frozen=True)
class CustomerForgotten(CustomerEvent):
    """The customer's data key was destroyed: their personal data reads as redacted."""
