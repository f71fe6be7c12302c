"""One contract for both order repositories: the in-memory one must behave like the log's.

The same tests run against `InMemoryOrderRepository` (no database) and
`EventLogOrderRepository` (the write database), so a handler test passing on the
fake says something about the real thing.
"""

import uuid
from decimal import Decimal

import pytest

from eventlog.store import ConcurrencyError
from orders_write.commands import Actor, CancelOrder, Context
from orders_write.domain.model import PLACED, Order
from orders_write.domain.values import Line
from orders_write.repository import EventLogOrderRepository, InMemoryOrderRepository

ALICE = Context(actor=Actor("alice"), correlation_id="corr-1")
COMMAND = CancelOrder(uuid.uuid4())  # any command: only its name goes into the metadata
LYON = {"line1": "1 rue X", "city": "Lyon", "country": "FR"}


def placed(order_id: uuid.UUID | None = None) -> Order:
    order = Order(str(order_id or uuid.uuid4()))
    order.place("alice", "EUR", [Line("A-1", 2, Decimal("10.00"))], LYON)
    return order


class OrderRepositoryContract:
    """What handlers may rely on, whichever repository they are given."""

    @pytest.fixture
    def orders(self):
        raise NotImplementedError

    def test_an_order_without_events_is_none(self, orders):
        assert orders.get(uuid.uuid4()) is None

    def test_a_saved_order_comes_back_as_it_was(self, orders):
        order = placed()
        result = orders.add(order, ALICE, COMMAND)
        assert (str(result.order_id), result.version) == (order.id, 1)
        loaded = orders.get(uuid.UUID(order.id))
        assert (loaded.id, loaded.version, loaded.status, loaded.customer_id) == (
            order.id,
            1,
            PLACED,
            "alice",
        )
        assert loaded.lines == {"A-1": Line("A-1", 2, Decimal("10.00"))}
        assert loaded.pending == []

    def test_saving_clears_what_was_pending(self, orders):
        order = placed()
        orders.add(order, ALICE, COMMAND)
        assert order.pending == []

    def test_versions_follow_on_and_positions_increase_across_orders(self, orders):
        first, second = placed(), placed()
        results = [orders.add(first, ALICE, COMMAND), orders.add(second, ALICE, COMMAND)]
        again = orders.get(uuid.UUID(first.id))
        again.add_item("B-2", 1, Decimal("1.00"))
        again.change_quantity("B-2", 3)
        results.append(orders.add(again, ALICE, COMMAND))
        assert [r.version for r in results] == [1, 1, 3]
        positions = [r.position for r in results]
        assert positions == sorted(positions) and len(set(positions)) == 3
        assert orders.get(uuid.UUID(first.id)).version == 3

    def test_the_events_carry_the_commands_metadata(self, orders):
        order = placed()
        orders.add(order, ALICE, COMMAND)
        [event] = orders.log.read_stream(uuid.UUID(order.id))
        assert (event.stream_type, event.type, event.version) == ("order", "OrderPlaced", 1)
        assert event.data["total"] == "20.00"
        assert event.metadata == {
            "actor": "alice",
            "command": "CancelOrder",
            "correlation_id": "corr-1",
            "causation_id": ALICE.command_id,
        }

    def test_the_log_reads_a_stream_from_after_a_version(self, orders):
        order = placed()
        orders.add(order, ALICE, COMMAND)
        order.add_item("B-2", 1, Decimal("1.00"))
        order.change_quantity("B-2", 3)
        orders.add(order, ALICE, COMMAND)
        later = orders.log.read_stream(uuid.UUID(order.id), after_version=1)
        assert [(e.version, e.type) for e in later] == [
            (2, "ItemAdded"),
            (3, "ItemQuantityChanged"),
        ]
        assert orders.log.read_stream(uuid.UUID(order.id), after_version=3) == []

    def test_of_two_changes_from_one_version_the_second_is_a_concurrency_error(self, orders):
        order_id = uuid.UUID(orders_with_one(orders).id)
        mine, theirs = orders.get(order_id), orders.get(order_id)
        theirs.cancel("theirs")
        orders.add(theirs, ALICE, COMMAND)
        mine.add_item("B-2", 1, Decimal("1.00"))
        with pytest.raises(ConcurrencyError) as raised:
            orders.add(mine, ALICE, COMMAND)
        assert (raised.value.expected, raised.value.actual) == (1, 2)
        assert [e.type for e in orders.log.read_stream(order_id)] == [
            "OrderPlaced",
            "OrderCancelled",
        ]

    def test_placing_an_order_id_again_is_a_concurrency_error(self, orders):
        order_id = uuid.UUID(orders_with_one(orders).id)
        with pytest.raises(ConcurrencyError):
            orders.add(placed(order_id), ALICE, COMMAND)
        assert orders.get(order_id).version == 1

    def test_an_order_with_nothing_pending_cannot_be_saved(self, orders):
        order = orders.get(uuid.UUID(orders_with_one(orders).id))
        with pytest.raises(ValueError, match="at least one event"):
            orders.add(order, ALICE, COMMAND)


def orders_with_one(orders) -> Order:
    order = placed()
    orders.add(order, ALICE, COMMAND)
    return order


class TestInMemoryOrderRepository(OrderRepositoryContract):
    @pytest.fixture
    def orders(self):
        return InMemoryOrderRepository()

    def test_data_goes_through_json_as_in_the_database(self, orders):
        order = placed()
        # Frozen, so forced: data the log's JSON column could not hold.
        object.__setattr__(order.pending[0], "shipping_address", {"when": object()})
        with pytest.raises(TypeError):
            orders.add(order, ALICE, COMMAND)
        assert orders.log.events == []


@pytest.mark.django_db(databases=["default"])
class TestEventLogOrderRepository(OrderRepositoryContract):
    @pytest.fixture
    def orders(self):
        return EventLogOrderRepository()
