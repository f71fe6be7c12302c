"""Commands: what a caller asks the write side to do, named in the imperative."""

from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID, uuid4

from .domain.address import ShippingAddress
from .domain.values import Line


@dataclass(frozen=True)
class Actor:
    """Who sends a command: a customer acts for themself, staff for anyone."""

    username: str
    is_staff: bool = False

    def may_act_for(self, customer_id: str) -> bool:
        return self.is_staff or self.username == customer_id


@dataclass(frozen=True)
class Idempotency:
    """A client's Idempotency-Key, scoped to one user, and the request it came with."""

    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Context:
    """Who sent a command, and why: stored as each event's metadata."""

    actor: Actor
    correlation_id: str = field(default_factory=lambda: str(uuid4()))
    command_id: str = field(default_factory=lambda: str(uuid4()))
    idempotency: Idempotency | None = None

    def metadata(self, command: object) -> dict[str, str]:
        meta = {
            "actor": self.actor.username,
            "command": type(command).__name__,
            "correlation_id": self.correlation_id,
            "causation_id": self.command_id,
        }
        if self.idempotency:
            meta["idempotency_key"] = self.idempotency.key
        return meta


@dataclass(frozen=True)
class Command:
    """Base of every command."""


@dataclass(frozen=True)
class PlaceOrder(Command):
    order_id: UUID
    customer_id: str
    currency: str
    items: tuple[Line, ...]
    # Structured, or a free-form dict (the legacy shape) that the aggregate maps onto it.
    shipping_address: ShippingAddress | dict[str, str] | None = None


@dataclass(frozen=True)
class OrderCommand(Command):
    """A command on an existing order; `expected_version` comes from If-Match."""

    order_id: UUID
    expected_version: int | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class AddItem(OrderCommand):
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class ChangeItemQuantity(OrderCommand):
    sku: str
    quantity: int


@dataclass(frozen=True)
class RemoveItem(OrderCommand):
    sku: str


@dataclass(frozen=True)
class ShipOrder(OrderCommand):
    tracking_number: str = ""


@dataclass(frozen=True)
class CancelOrder(OrderCommand):
    reason: str = ""


@dataclass(frozen=True)
class ForgetCustomer(Command):
    """Destroy the customer's data key: their personal data reads as redacted from now on."""

    customer_id: str


@dataclass(frozen=True)
class CommandResult:
    """What a successful command returns: the stream's new version and last position.

    `order_id` is the stream the command appended to (a customer's own stream for
    customer commands).
    """

    order_id: UUID
    version: int
    position: int
