"""Commands as the inbox stores them (JSON arguments), and back.

Personal arguments (a PlaceOrder's `shipping_address`) are sealed under the customer's
data key exactly as the event log seals them, so the inbox holds no personal data in
clear and forgetting the customer (destroying the key) shreds them here too.
"""

from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from eventlog.personal import REDACTED, Opener, OwnerForgotten, redacted
from eventlog.recorders.base import RecordedEvent

from ..commands import (
    AddItem,
    CancelOrder,
    ChangeItemQuantity,
    Command,
    CommandResult,
    ForgetCustomer,
    PlaceOrder,
    RemoveItem,
    ShipOrder,
)
from ..domain.address import ShippingAddress
from ..domain.errors import CustomerForgottenRefusal
from ..domain.values import Line

COMMAND_TYPES: dict[str, type[Command]] = {
    cls.__name__: cls
    for cls in (
        PlaceOrder,
        AddItem,
        ChangeItemQuantity,
        RemoveItem,
        ShipOrder,
        CancelOrder,
        ForgetCustomer,
    )
}
# Each command's personal arguments: the fields its events hold as personal.
PERSONAL_ARGUMENTS: dict[type[Command], tuple[str, ...]] = {PlaceOrder: ("shipping_address",)}
STREAM_TYPE = "command"


class Keys(Protocol):
    """What seals and opens personal fields (eventlog.personal.DataKeys is one)."""

    def seal(
        self, event_type: str, stream_id: UUID, data: dict[str, Any], fields: Any
    ) -> dict[str, Any]: ...


def arguments_of(command: Command, command_id: UUID, keys: Keys) -> dict[str, Any]:
    """Return the command's fields as JSON, personal ones sealed under the owner's key."""
    data = {field.name: _plain(getattr(command, field.name)) for field in fields(command)}
    personal = PERSONAL_ARGUMENTS.get(type(command), ())
    try:
        return keys.seal(_sealed_as(type(command)), command_id, data, personal)
    except OwnerForgotten:
        # Nothing new is kept for a forgotten customer: the run refuses it as the
        # synchronous command would have.
        return redacted(data, personal)


def command_from(
    command_type: str, arguments: dict[str, Any], command_id: UUID, keys: Any
) -> Command:
    """Return the command the inbox stored, its personal arguments opened.

    Raise CustomerForgottenRefusal if they cannot be opened any more (forgotten since).
    """
    cls = COMMAND_TYPES[command_type]
    data = arguments
    if PERSONAL_ARGUMENTS.get(cls):
        stored = RecordedEvent(0, STREAM_TYPE, command_id, 0, _sealed_as(cls), arguments, {}, None)
        data = Opener([stored], {}, keys).open(stored).data
        if data.get(REDACTED):
            raise CustomerForgottenRefusal(
                "This customer was forgotten: nothing new is recorded with their personal data."
            )
    names = {field.name for field in fields(cls)}
    return cls(**{name: _typed(name, value) for name, value in data.items() if name in names})


def result_body(command: Command, result: CommandResult) -> dict[str, Any]:
    """Return the body the synchronous command answers on success."""
    done = {"version": result.version, "position": result.position}
    if isinstance(command, ForgetCustomer):
        return {"customer_id": command.customer_id, **done}
    return {"order_id": str(result.order_id), **done}


def _sealed_as(cls: type[Command]) -> str:
    # What the envelope is bound to, as an event's type: a sealed argument cannot be
    # moved to another command or event.
    return f"{STREAM_TYPE}:{cls.__name__}"


def _plain(value: Any) -> Any:
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, ShippingAddress):
        return asdict(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Line):
        return {"sku": value.sku, "quantity": value.quantity, "unit_price": str(value.unit_price)}
    return value


def _typed(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "order_id":
        return UUID(value)
    if name == "unit_price":
        return Decimal(value)
    if name == "items":
        return tuple(Line(i["sku"], i["quantity"], Decimal(i["unit_price"])) for i in value)
    if name == "shipping_address":
        return ShippingAddress(**value)
    return value
