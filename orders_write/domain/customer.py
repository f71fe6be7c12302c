"""The Customer aggregate: what is recorded about a customer themself (not their orders)."""

from collections.abc import Iterable

from .errors import CustomerAlreadyForgotten
from .events import CustomerEvent, CustomerForgotten


class Customer:
    """A customer's own stream; today it records one thing: that they were forgotten."""

    def __init__(self, customer_id: str) -> None:
        self.id = customer_id
        self.version = 0
        self.forgotten = False
        self.pending: list[CustomerEvent] = []

    @classmethod
    def from_events(cls, customer_id: str, events: Iterable[CustomerEvent]) -> "Customer":
        """Rebuild a customer by applying their past events in order."""
        customer = cls(customer_id)
        for event in events:
            customer._apply(event)
        return customer

    def forget(self) -> None:
        """Forget the customer's personal data; refused if they already are forgotten."""
        if self.forgotten:
            raise CustomerAlreadyForgotten(f"Customer {self.id} is already forgotten.")
        event = CustomerForgotten(customer_id=self.id)
        self.pending.append(event)
        self._apply(event)

    def _apply(self, event: CustomerEvent) -> None:
        if isinstance(event, CustomerForgotten):
            self.forgotten = True
        self.version += 1
