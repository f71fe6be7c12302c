"""The command bus: handler lookup, retries on lost version races, the post-commit nudge."""

import uuid
from decimal import Decimal

import pytest

from config.bootstrap import bootstrap
from eventlog.models import Event
from eventlog.personal import DataKeys
from eventlog.store import ConcurrencyError
from orders_write.bus import CommandBus
from orders_write.commands import (
    Actor,
    AddItem,
    CommandResult,
    Context,
    Idempotency,
    PlaceOrder,
)
from orders_write.customers import UserAccountCustomers
from orders_write.domain.errors import DuplicateSku
from orders_write.domain.values import Line
from orders_write.errors import ConcurrentModification, PreconditionFailed, UnknownCommand
from orders_write.repository import EventLogCustomerRepository, EventLogOrderRepository

pytestmark = pytest.mark.django_db(databases=["default", "read"])

ALICE = Context(actor=Actor("alice"))


class Nudges:
    def __init__(self):
        self.count = 0
        self.positions = []

    def __call__(self, position: int):
        self.count += 1
        self.positions.append(position)


def wired(nudges: Nudges) -> CommandBus:
    """The real handlers over the event log, with `nudges` as the post-commit nudge."""
    return bootstrap(
        orders=EventLogOrderRepository(),
        customers=UserAccountCustomers(),
        customer_records=EventLogCustomerRepository(),
        data_keys=DataKeys(),
        nudge=nudges,
        command_attempts=30,
        read_wait_seconds=0,
    ).commands


def place(order_id=None) -> PlaceOrder:
    return PlaceOrder(
        order_id=order_id or uuid.uuid4(),
        customer_id="alice",
        currency="EUR",
        items=(Line("A", 1, Decimal("2.50")),),
    )


def test_unknown_command_is_named_in_the_error():
    bus = CommandBus({}, after_commit=Nudges())
    with pytest.raises(UnknownCommand, match="PlaceOrder"):
        bus.dispatch(place(), ALICE)


def test_success_nudges_the_projections_once_after_commit(django_capture_on_commit_callbacks):
    nudges = Nudges()
    bus = wired(nudges)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = bus.dispatch(place(), ALICE)
    assert (len(callbacks), nudges.count) == (1, 1)
    assert nudges.positions == [result.position]  # how far the read side must get
    assert result.version == 1
    assert Event.objects.get().metadata["actor"] == "alice"


def test_a_refused_command_writes_nothing_and_nudges_nothing(django_capture_on_commit_callbacks):
    nudges = Nudges()
    bus = wired(nudges)
    order_id = uuid.uuid4()
    bus.dispatch(place(order_id), ALICE)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(DuplicateSku),
    ):
        bus.dispatch(AddItem(order_id, "A", 1, Decimal("1")), ALICE)
    assert (callbacks, Event.objects.count()) == ([], 1)


def flaky(failures: int):
    """A handler that loses the version race `failures` times, then succeeds."""
    calls = []

    def handler(command, context):
        calls.append(command)
        if len(calls) <= failures:
            raise ConcurrencyError(command.order_id, 1, 2)
        return CommandResult(command.order_id, 2, 2)

    return handler, calls


def test_a_lost_race_is_retried_against_fresh_state():
    handler, calls = flaky(failures=3)
    bus = CommandBus({AddItem: handler}, after_commit=Nudges(), attempts=5)
    result = bus.dispatch(AddItem(uuid.uuid4(), "B", 1, Decimal("1")), ALICE)
    assert (len(calls), result.version) == (4, 2)


def test_retries_are_bounded():
    handler, calls = flaky(failures=100)
    bus = CommandBus({AddItem: handler}, after_commit=Nudges(), attempts=5)
    with pytest.raises(ConcurrentModification):
        bus.dispatch(AddItem(uuid.uuid4(), "B", 1, Decimal("1")), ALICE)
    assert len(calls) == 5


def test_with_if_match_a_lost_race_is_a_failed_precondition_not_a_retry():
    handler, calls = flaky(failures=1)
    bus = CommandBus({AddItem: handler}, after_commit=Nudges(), attempts=5)
    with pytest.raises(PreconditionFailed):
        bus.dispatch(AddItem(uuid.uuid4(), "B", 1, Decimal("1"), expected_version=1), ALICE)
    assert len(calls) == 1


def test_an_idempotent_retry_replays_the_outcome_without_running_the_handler():
    runs = []
    place_order = wired(Nudges()).handlers[PlaceOrder]

    def handler(command, context):
        runs.append(command)
        return place_order(command, context)

    bus = CommandBus({PlaceOrder: handler}, after_commit=Nudges())
    key = Idempotency(scope="1", key="k-1", fingerprint="f" * 64)
    context = Context(actor=Actor("alice"), idempotency=key)
    first = bus.dispatch(place(), context)
    again = bus.dispatch(place(), context)
    assert len(runs) == 1
    assert (str(again.order_id), again.version, again.position) == (
        str(first.order_id),
        first.version,
        first.position,
    )
    assert Event.objects.count() == 1
