"""The composition root: bind the handlers' dependencies and build the two buses.

The write side never imports the read side: the post-commit nudge (the read side's
`enqueue_catch_up`) is handed to the command bus here.
"""

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, partial
from typing import Any

from django.conf import settings
from django.utils import timezone

from eventlog.personal import DataKeys
from orders_read.bus import QUERY_HANDLERS, QueryBus
from orders_read.tasks import enqueue_catch_up
from orders_write.bus import CommandBus
from orders_write.commands import Command, Context
from orders_write.customers import CustomerDirectory, DataKeyStore, UserAccountCustomers
from orders_write.handlers import COMMAND_HANDLERS
from orders_write.inbox import entries
from orders_write.inbox.runner import CommandRunner
from orders_write.models import InboxCommand
from orders_write.repository import (
    CustomerRepository,
    EventLogCustomerRepository,
    EventLogOrderRepository,
    OrderRepository,
)

from .metrics import MeasuredCommandBus
from .problems import problem_document
from .tasks import enqueue_command_run


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


def command_accept(command: Command, context: Context, sender: entries.Sender) -> InboxCommand:
    """Store the command in the inbox; its task is sent when the request commits."""
    # Looked up per call, as the nudge: a test can replace the publisher.
    return entries.command_accept(
        command, context, sender=sender, keys=DataKeys(), publish=enqueue_command_run
    )


def command_runner() -> CommandRunner:
    """Return the runner of inbox entries, over the command bus."""
    return CommandRunner(
        command_bus(),
        keys=DataKeys(),
        problem_of=problem_document,
        lease=timedelta(seconds=settings.ORDINAL_INBOX_LEASE_SECONDS),
        attempts=settings.ORDINAL_INBOX_ATTEMPTS,
    )


def commands_resend() -> int:
    """Send a task again for each inbox entry whose task seems lost; return how many."""
    due = entries.commands_due(
        resend_after=timedelta(seconds=settings.ORDINAL_INBOX_RESEND_SECONDS),
        lease=timedelta(seconds=settings.ORDINAL_INBOX_LEASE_SECONDS),
    )
    for command_id in due:
        enqueue_command_run(command_id)
    return len(due)


def commands_purge() -> int:
    """Delete the inbox entries finished more than ORDINAL_INBOX_KEEP_HOURS ago."""
    keep = timedelta(hours=settings.ORDINAL_INBOX_KEEP_HOURS)
    return entries.commands_purge(older_than=timezone.now() - keep)
