"""The composition root: the buses get the dependencies bootstrap() is given (no database)."""

import uuid
from decimal import Decimal
from unittest import mock

from config import bootstrap
from orders_read import tasks
from orders_write.commands import Actor, Context, PlaceOrder
from orders_write.customers import InMemoryCustomers, InMemoryDataKeys
from orders_write.domain.values import Line
from orders_write.handlers import COMMAND_HANDLERS
from orders_write.repository import InMemoryCustomerRepository, InMemoryOrderRepository


def nudge(position: int) -> None:
    raise AssertionError("the handlers must not nudge: the bus does, after commit")


def wired(**dependencies) -> bootstrap.Buses:
    """The buses over in-memory dependencies, with any of them replaced."""
    given = {
        "orders": InMemoryOrderRepository(),
        "customers": InMemoryCustomers(),
        "customer_records": InMemoryCustomerRepository(),
        "data_keys": InMemoryDataKeys(),
        **dependencies,
    }
    return bootstrap.bootstrap(**given, nudge=nudge, command_attempts=3, read_wait_seconds=0.5)


def test_every_command_handler_gets_the_repository_it_is_given():
    orders = InMemoryOrderRepository()
    buses = wired(orders=orders)
    assert set(buses.commands.handlers) == set(COMMAND_HANDLERS)
    order_id = uuid.uuid4()
    command = PlaceOrder(order_id, "alice", "EUR", (Line("A-1", 1, Decimal("1.00")),))
    result = buses.commands.handlers[PlaceOrder](command, Context(actor=Actor("alice")))
    assert [(e.stream_id, e.type) for e in orders.log.events] == [(order_id, "OrderPlaced")]
    assert result.position == 1


def test_place_order_asks_the_customer_directory_it_is_given():
    customers = InMemoryCustomers({"carol"})
    buses = wired(customers=customers)
    command = PlaceOrder(uuid.uuid4(), "carol", "EUR", (Line("A-1", 1, Decimal("1.00")),))
    buses.commands.handlers[PlaceOrder](command, Context(actor=Actor("stella", is_staff=True)))
    assert customers.asked == ["carol"]


def test_a_handler_gets_only_the_dependencies_it_names():
    def place_without_a_repository(command, context):
        return ("placed", command.order_id)

    with mock.patch.dict(COMMAND_HANDLERS, {PlaceOrder: place_without_a_repository}):
        buses = wired()
    command = PlaceOrder(uuid.uuid4(), "alice", "EUR", ())
    handler = buses.commands.handlers[PlaceOrder]
    assert handler(command, Context(actor=Actor("alice"))) == ("placed", command.order_id)


def test_the_buses_get_the_nudge_and_the_settings_values_they_are_given():
    buses = wired()
    assert (buses.commands.after_commit, buses.commands.attempts) == (nudge, 3)
    assert buses.queries.wait_seconds == 0.5


def test_the_production_buses_read_the_settings_when_asked_for(settings):
    settings.ORDINAL_COMMAND_RETRIES, settings.ORDINAL_READ_WAIT_SECONDS = 7, 0.25
    assert bootstrap.command_bus().attempts == 7
    assert bootstrap.query_bus().wait_seconds == 0.25


def test_the_production_command_bus_nudges_the_read_side(monkeypatch):
    assert bootstrap.command_bus().after_commit is tasks.enqueue_catch_up
    # Looked up per call, so a test (or a child process) can swap the nudge.
    monkeypatch.setattr(bootstrap, "enqueue_catch_up", nudge)
    assert bootstrap.command_bus().after_commit is nudge
