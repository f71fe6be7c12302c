"""Who the customers are: a handler asks a directory, the user accounts or memory for tests."""

from collections.abc import Iterable
from typing import Protocol

from django.contrib.auth import get_user_model


class CustomerDirectory(Protocol):
    """What a command handler needs to know about customers (DESIGN §9: user accounts)."""

    def exists(self, customer_id: str) -> bool:
        """Tell whether a customer has this id."""
        ...


class DataKeyStore(Protocol):
    """The customers' data keys, as the forget command needs them (`DataKeys` is one)."""

    def state(self, customer_id: str) -> str | None:
        """Return "live", "forgotten", or None if the customer has no key."""
        ...

    def destroy(self, customer_id: str) -> None:
        """Destroy the customer's key (record them as forgotten if they have none)."""
        ...


class UserAccountCustomers:
    """Customers are the user accounts: a customer id is a username."""

    def exists(self, customer_id: str) -> bool:
        """Tell whether a user account has this username."""
        users = get_user_model()
        return users._default_manager.filter(**{users.USERNAME_FIELD: customer_id}).exists()


class InMemoryCustomers:
    """A fixed set of customer ids, for tests; it records every id it is asked about."""

    def __init__(self, customer_ids: Iterable[str] = ()) -> None:
        self.customer_ids = set(customer_ids)
        self.asked: list[str] = []

    def exists(self, customer_id: str) -> bool:
        """Tell whether the id is one of the set."""
        self.asked.append(customer_id)
        return customer_id in self.customer_ids


class InMemoryDataKeys:
    """Data keys as a dict of states, for tests: "live" or "forgotten" per customer."""

    def __init__(self, live: Iterable[str] = ()) -> None:
        self.states = dict.fromkeys(live, "live")

    def state(self, customer_id: str) -> str | None:
        return self.states.get(customer_id)

    def destroy(self, customer_id: str) -> None:
        self.states[customer_id] = "forgotten"
