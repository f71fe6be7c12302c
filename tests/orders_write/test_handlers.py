"""Each command handler over an in-memory repository: who may act, and what it appends.

No database: these tests carry no django_db mark, so any query would fail them.
"""

import uuid
from decimal import Decimal

import pytest

from config.bootstrap import inject_dependencies
from eventlog.store import ConcurrencyError
from orders_write import commands
from orders_write.commands import Actor, CommandResult, Context
from orders_write.customers import InMemoryCustomers
from orders_write.domain import errors
from orders_write.domain.values import Line
from orders_write.errors import NotAllowed, OrderNotFound, PreconditionFailed, UnknownCustomer
from orders_write.handlers import COMMAND_HANDLERS
from orders_write.repository import InMemoryOrderRepository

ALICE, BOB, STELLA = Actor("alice"), Actor("bob"), Actor("stella", is_staff=True)
# The customers with an account; stella (staff) has one too, but needs no lookup for herself.
CUSTOMERS = ("alice", "bob")


@pytest.fixture
def orders() -> InMemoryOrderRepository:
    return InMemoryOrderRepository()


@pytest.fixture
def customers() -> InMemoryCustomers:
    return InMemoryCustomers(CUSTOMERS)


def run(
    orders, command: commands.Command, actor: Actor = ALICE, *, customers=None, **context
) -> CommandResult:
    """Run the command's handler with its dependencies injected, as the command bus would."""
    dependencies = {"orders": orders, "customers": customers or InMemoryCustomers(CUSTOMERS)}
    handler = inject_dependencies(COMMAND_HANDLERS[type(command)], dependencies)
    return handler(command, Context(actor=actor, **context))


def appended(orders, order_id: uuid.UUID) -> list[tuple[str, dict]]:
    """The (type, data) of every event the order's stream holds."""
    return [(e.type, e.data) for e in orders.log.read_stream(order_id)]


def types(orders, order_id: uuid.UUID) -> list[str]:
    return [kind for kind, _ in appended(orders, order_id)]


LYON = {"line1": "1 rue X", "city": "Lyon", "country": "FR"}


def place_order(customer: str = "alice", **overrides) -> commands.PlaceOrder:
    values = {
        "order_id": uuid.uuid4(),
        "customer_id": customer,
        "currency": "EUR",
        "items": (Line("A-1", 2, Decimal("10.00")), Line("B-2", 1, Decimal("5.50"))),
        "shipping_address": LYON,
    }
    return commands.PlaceOrder(**{**values, **overrides})


@pytest.fixture
def order_id(orders) -> uuid.UUID:
    """Alice's placed order: A-1 x2 at 10.00 and B-2 x1 at 5.50 (25.50), version 1."""
    command = place_order()
    run(orders, command)
    return command.order_id


class TestPlaceOrder:
    def test_a_customer_places_an_order_for_themself(self, orders):
        command = place_order()
        context = Context(actor=ALICE, correlation_id="corr-1")
        customers = InMemoryCustomers()  # none: ordering for oneself needs no lookup
        handler = COMMAND_HANDLERS[commands.PlaceOrder]
        result = handler(command, context, orders=orders, customers=customers)
        assert result == CommandResult(command.order_id, version=1, position=1)
        [event] = orders.log.read_stream(command.order_id)
        assert (event.type, event.version, event.position) == ("OrderPlaced", 1, 1)
        assert event.schema_version == 2  # the class's current shape, stored with it
        assert event.data == {
            "order_id": str(command.order_id),
            "customer_id": "alice",
            "currency": "EUR",
            "items": [
                {"sku": "A-1", "quantity": 2, "unit_price": "10.00"},
                {"sku": "B-2", "quantity": 1, "unit_price": "5.50"},
            ],
            "shipping_address": {
                "name": "",
                "line1": "1 rue X",
                "line2": "",
                "city": "Lyon",
                "postal_code": "",
                "country": "FR",
            },
            "total": "25.50",
        }
        assert event.metadata == {
            "actor": "alice",
            "command": "PlaceOrder",
            "correlation_id": "corr-1",
            "causation_id": context.command_id,
        }

    def test_staff_place_an_order_for_any_customer(self, orders, customers):
        command = place_order("alice")
        run(orders, command, STELLA, customers=customers)
        [event] = orders.log.read_stream(command.order_id)
        assert (event.data["customer_id"], event.metadata["actor"]) == ("alice", "stella")
        assert customers.asked == ["alice"]

    def test_staff_may_not_place_an_order_for_a_customer_without_an_account(self, orders):
        with pytest.raises(UnknownCustomer) as raised:
            run(orders, place_order("zed-999"), STELLA)
        assert raised.value.field == "customer_id"
        assert orders.log.events == []

    def test_staff_place_an_order_for_themselves_without_a_lookup(self, orders):
        customers = InMemoryCustomers()
        run(orders, place_order("stella"), STELLA, customers=customers)
        assert customers.asked == []
        assert len(orders.log.events) == 1

    def test_a_customer_may_not_place_an_order_for_someone_else(self, orders, customers):
        for someone_else in ("bob", "zed-999"):  # refused alike: no account is revealed
            with pytest.raises(NotAllowed):
                run(orders, place_order(someone_else), ALICE, customers=customers)
        assert orders.log.events == []
        assert customers.asked == []

    def test_an_invalid_value_appends_nothing(self, orders):
        with pytest.raises(errors.InvalidValue) as raised:
            run(orders, place_order(currency="eur"))
        assert raised.value.field == "currency"
        assert orders.log.events == []

    def test_an_order_id_that_has_events_is_not_placed_again(self, orders, order_id):
        with pytest.raises(ConcurrencyError):
            run(orders, place_order(order_id=order_id, currency="USD"))
        assert types(orders, order_id) == ["OrderPlaced"]

    def test_the_idempotency_key_goes_into_the_metadata(self, orders):
        key = commands.Idempotency(scope="1", key="k-1", fingerprint="f" * 64)
        command = place_order()
        run(orders, command, idempotency=key)
        [event] = orders.log.read_stream(command.order_id)
        assert event.metadata["idempotency_key"] == "k-1"


class TestAddItem:
    def test_the_owner_adds_an_item(self, orders, order_id):
        result = run(orders, commands.AddItem(order_id, "C-3", 3, Decimal("1.10")))
        assert (result.version, result.position) == (2, 2)
        kind, data = appended(orders, order_id)[-1]
        assert kind == "ItemAdded"
        assert (data["sku"], data["quantity"], data["unit_price"]) == ("C-3", 3, "1.10")
        assert (data["customer_id"], data["currency"], data["total"]) == ("alice", "EUR", "28.80")

    def test_a_sku_already_in_the_order_is_refused(self, orders, order_id):
        with pytest.raises(errors.DuplicateSku):
            run(orders, commands.AddItem(order_id, "A-1", 1, Decimal("1.00")))
        assert types(orders, order_id) == ["OrderPlaced"]


class TestChangeItemQuantity:
    def test_the_owner_changes_a_quantity(self, orders, order_id):
        result = run(orders, commands.ChangeItemQuantity(order_id, "A-1", 5))
        assert result.version == 2
        kind, data = appended(orders, order_id)[-1]
        assert kind == "ItemQuantityChanged"
        assert (data["quantity"], data["previous_quantity"], data["unit_price"]) == (
            5,
            2,
            "10.00",
        )
        assert data["total"] == "55.50"

    def test_a_sku_not_in_the_order_is_refused(self, orders, order_id):
        with pytest.raises(errors.UnknownSku):
            run(orders, commands.ChangeItemQuantity(order_id, "Z-9", 5))
        assert types(orders, order_id) == ["OrderPlaced"]


class TestRemoveItem:
    def test_the_owner_removes_an_item(self, orders, order_id):
        run(orders, commands.RemoveItem(order_id, "B-2"))
        kind, data = appended(orders, order_id)[-1]
        assert kind == "ItemRemoved"
        assert (data["sku"], data["quantity"], data["total"]) == ("B-2", 1, "20.00")

    def test_the_last_item_cannot_be_removed(self, orders, order_id):
        run(orders, commands.RemoveItem(order_id, "B-2"))
        with pytest.raises(errors.LastItem):
            run(orders, commands.RemoveItem(order_id, "A-1"))
        assert types(orders, order_id) == ["OrderPlaced", "ItemRemoved"]


class TestShipOrder:
    def test_staff_ship_an_order(self, orders, order_id):
        result = run(orders, commands.ShipOrder(order_id, tracking_number="TRK-1"), STELLA)
        assert result.version == 2
        [*_, shipped] = orders.log.read_stream(order_id)
        assert (shipped.type, shipped.data["tracking_number"]) == ("OrderShipped", "TRK-1")
        assert shipped.metadata["actor"] == "stella"

    def test_the_owner_may_not_ship_their_own_order(self, orders, order_id):
        with pytest.raises(NotAllowed):
            run(orders, commands.ShipOrder(order_id), ALICE)
        assert types(orders, order_id) == ["OrderPlaced"]

    def test_a_shipped_order_is_final(self, orders, order_id):
        run(orders, commands.ShipOrder(order_id), STELLA)
        for command in (commands.ShipOrder(order_id), commands.CancelOrder(order_id)):
            with pytest.raises(errors.OrderNotPlaced):
                run(orders, command, STELLA)
        assert types(orders, order_id) == ["OrderPlaced", "OrderShipped"]


class TestCancelOrder:
    def test_the_owner_cancels_with_the_lines_and_total_for_the_projectors(self, orders, order_id):
        run(orders, commands.CancelOrder(order_id, reason="changed my mind"))
        kind, data = appended(orders, order_id)[-1]
        assert kind == "OrderCancelled"
        assert (data["reason"], data["total"]) == ("changed my mind", "25.50")
        assert [item["sku"] for item in data["items"]] == ["A-1", "B-2"]

    def test_staff_cancel_any_order(self, orders, order_id):
        run(orders, commands.CancelOrder(order_id), STELLA)
        assert types(orders, order_id) == ["OrderPlaced", "OrderCancelled"]

    def test_a_cancelled_order_is_final(self, orders, order_id):
        run(orders, commands.CancelOrder(order_id))
        with pytest.raises(errors.OrderNotPlaced):
            run(orders, commands.AddItem(order_id, "C-3", 1, Decimal("1.00")))
        assert types(orders, order_id) == ["OrderPlaced", "OrderCancelled"]


# --- rules every command on an existing order follows -------------------------------

ON_AN_ORDER = {
    "add-item": lambda order_id, **kw: commands.AddItem(order_id, "C-3", 1, Decimal("1"), **kw),
    "change-quantity": lambda order_id, **kw: commands.ChangeItemQuantity(order_id, "A-1", 7, **kw),
    "remove-item": lambda order_id, **kw: commands.RemoveItem(order_id, "B-2", **kw),
    "ship": lambda order_id, **kw: commands.ShipOrder(order_id, **kw),
    "cancel": lambda order_id, **kw: commands.CancelOrder(order_id, **kw),
}
BY_A_CUSTOMER = [name for name in ON_AN_ORDER if name != "ship"]


@pytest.mark.parametrize("action", BY_A_CUSTOMER)
def test_another_customers_order_is_not_found(orders, order_id, action):
    # Not "not allowed": whether someone else's order exists is none of bob's business.
    with pytest.raises(OrderNotFound):
        run(orders, ON_AN_ORDER[action](order_id), BOB)
    assert types(orders, order_id) == ["OrderPlaced"]


@pytest.mark.parametrize("action", ON_AN_ORDER)
def test_an_order_without_events_is_not_found(orders, action):
    missing = uuid.uuid4()
    with pytest.raises(OrderNotFound, match=str(missing)):
        run(orders, ON_AN_ORDER[action](missing), STELLA)
    assert orders.log.events == []


@pytest.mark.parametrize("action", ON_AN_ORDER)
@pytest.mark.parametrize("stale", [0, 2])
def test_if_match_on_another_version_fails_the_precondition(orders, order_id, action, stale):
    with pytest.raises(PreconditionFailed, match=f"version 1, not {stale}"):
        run(orders, ON_AN_ORDER[action](order_id, expected_version=stale), STELLA)
    assert types(orders, order_id) == ["OrderPlaced"]


@pytest.mark.parametrize("action", ON_AN_ORDER)
def test_if_match_on_the_current_version_lets_the_command_through(orders, order_id, action):
    result = run(orders, ON_AN_ORDER[action](order_id, expected_version=1), STELLA)
    assert (result.order_id, result.version, result.position) == (order_id, 2, 2)
    assert [e.version for e in orders.log.read_stream(order_id)] == [1, 2]
