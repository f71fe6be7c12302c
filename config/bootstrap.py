"""The composition root: bind the handlers' dependencies and build the two buses.

The write side never imports the read side: the post-commit nudge (the read side's
`enqueue_catch_up`) is handed to the command bus here.
"""

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from django.conf import settings

from eventlog.personal import DataKeys
from orders_read.bus import QUERY_HANDLERS, QueryBus
from orders_read.tasks import enqueue_catch_up
from orders_write.bus import CommandBus
from orders_write.customers import CustomerDirectory, DataKeyStore, UserAccountCustomers
from orders_write.handlers import COMMAND_HANDLERS
from orders_write.repository import (
    CustomerRepository,
    EventLogCustomerRepository,
    EventLogOrderRepository,
    OrderRepository,
)

from .metrics import MeasuredCommandBus


@dataclass(frozen=True)
class Buses:
    """The buses every interface (API, admin, management commands) dispatches through."""

    commands: CommandBus
    queries: QueryBus


def bootstrap(
    *,
    orders: OrderRepository,
    customers: CustomerDirectory,
    customer_records: CustomerRepository,
    data_keys: DataKeyStore,
    nudge: Callable[[int], None],
    command_attempts: int,
    read_wait_seconds: float,
) -> Buses:
    """Build the buses from their dependencies; tests pass fakes for any of them."""
    dependencies = {
        "orders": orders,
        "customers": customers,
        "customer_records": customer_records,
        "data_keys": data_keys,
    }
    handlers = {
        kind: inject_dependencies(handler, dependencies)
        for kind, handler in COMMAND_HANDLERS.items()
    }
    return Buses(
        # Measured here, in one place: every interface's commands are counted and timed.
        commands=MeasuredCommandBus(handlers, after_commit=nudge, attempts=command_attempts),
        queries=QueryBus(QUERY_HANDLERS, wait_seconds=read_wait_seconds),
    )


def inject_dependencies(
    handler: Callable[..., Any], dependencies: Mapping[str, object]
) -> Callable[..., Any]:
    """Bind the dependencies the handler names as parameters (cosmicpython's way)."""
    wanted = _parameters(handler)
    return partial(handler, **{name: dep for name, dep in dependencies.items() if name in wanted})


@cache
def _parameters(handler: Callable[..., Any]) -> frozenset[str]:
    # Once per handler, not per request: the buses are built per call.
    return frozenset(inspect.signature(handler).parameters)


def command_bus() -> CommandBus:
    """Return the command bus wired to the event log and the read side's nudge."""
    return _production().commands


def query_bus() -> QueryBus:
    """Return the query bus over the read models."""
    return _production().queries


def _production() -> Buses:
    # Built per call, not at import: settings are read when used (tests override them)
    # and the nudge is looked up here, so a test or a child process can replace it.
    return bootstrap(
        orders=EventLogOrderRepository(),
        customers=UserAccountCustomers(),
        customer_records=EventLogCustomerRepository(),
        data_keys=DataKeys(),
        nudge=enqueue_catch_up,
        command_attempts=settings.ORDINAL_COMMAND_RETRIES,
        read_wait_seconds=settings.ORDINAL_READ_WAIT_SECONDS,
    )
