"""The Order aggregate's rules, in plain Python (no database)."""

from decimal import Decimal

import pytest

from orders_write.domain import errors
from orders_write.domain.address import ShippingAddress
from orders_write.domain.events import (
    ItemAdded,
    ItemQuantityChanged,
    ItemRemoved,
    OrderCancelled,
    OrderPlaced,
    OrderShipped,
    event_from,
)
from orders_write.domain.model import CANCELLED, PLACED, SHIPPED, Order
from orders_write.domain.values import Line

ORDER_ID = "0b7c1f3e-1d2a-4c5b-9e8f-112233445566"
OSLO = {"line1": "Karl Johans gate 1", "city": "Oslo", "country": "NO"}


def placed(*lines: Line, currency: str = "EUR") -> Order:
    order = Order(ORDER_ID)
    order.place("alice", currency, lines or (Line("A-1", 2, Decimal("3.50")),), OSLO)
    return order


def replayed(order: Order) -> Order:
    """Rebuild the order from its events, through their JSON data, as the log would."""
    stored = [(e.type, e.to_data()) for e in order.pending]
    return Order.from_events(order.id, (event_from(t, d) for t, d in stored))


class TestPlace:
    def test_records_order_placed_with_computed_total(self):
        order = placed(Line("A", 2, Decimal("3.50")), Line("B", 1, Decimal("0.99")))
        [event] = order.pending
        assert isinstance(event, OrderPlaced)
        assert event.total == Decimal("7.99")
        assert (order.status, order.version, order.total) == (PLACED, 1, Decimal("7.99"))

    def test_needs_at_least_one_item(self):
        with pytest.raises(errors.InvalidValue) as raised:
            Order(ORDER_ID).place("alice", "EUR", [])
        assert raised.value.field == "items"

    def test_accepts_one_hundred_items_but_not_more(self):
        lines = [Line(f"S{i}", 1, Decimal("1")) for i in range(101)]
        Order(ORDER_ID).place("alice", "EUR", lines[:100])
        with pytest.raises(errors.InvalidValue):
            Order(ORDER_ID).place("alice", "EUR", lines)

    def test_refuses_repeated_sku(self):
        with pytest.raises(errors.InvalidValue, match="only once"):
            placed(Line("A", 1, Decimal("1")), Line("A", 2, Decimal("1")))

    def test_cannot_place_twice(self):
        order = placed()
        with pytest.raises(errors.OrderAlreadyExists):
            order.place("alice", "EUR", [Line("A", 1, Decimal("1"))])

    @pytest.mark.parametrize("currency", ["eur", "EURO", "XXX", "", None, 978])
    def test_refuses_anything_but_an_iso_4217_code(self, currency):
        with pytest.raises(errors.InvalidValue) as raised:
            placed(currency=currency)
        assert raised.value.field == "currency"

    @pytest.mark.parametrize(
        "line",
        [
            Line("", 1, Decimal("1")),
            Line("x" * 65, 1, Decimal("1")),
            Line("a b", 1, Decimal("1")),
            Line("A", 0, Decimal("1")),
            Line("A", 10_001, Decimal("1")),
            Line("A", True, Decimal("1")),
            Line("A", 1.0, Decimal("1")),
            Line("A", 1, Decimal("-0.01")),
            Line("A", 1, Decimal("1000000.01")),
            Line("A", 1, Decimal("1.005")),
            Line("A", 1, Decimal("NaN")),
            Line("A", 1, Decimal("Infinity")),
            Line("A", 1, Decimal("1E+400")),
            Line("A", 1, 0.1),
        ],
    )
    def test_refuses_out_of_bounds_lines(self, line):
        with pytest.raises(errors.InvalidValue):
            placed(line)

    def test_accepts_the_bounds(self):
        order = placed(
            Line("a.Z_9-x" + "y" * 57, 10_000, Decimal("1000000")), Line("B", 1, Decimal("0"))
        )
        assert order.total == Decimal("10000000000.00")

    def test_a_legacy_shipping_address_is_at_most_ten_short_string_fields(self):
        with pytest.raises(errors.InvalidValue):
            Order(ORDER_ID).place(
                "alice", "EUR", [Line("A", 1, 1)], {f"k{i}": "v" for i in range(11)}
            )
        with pytest.raises(errors.InvalidValue):
            Order(ORDER_ID).place("alice", "EUR", [Line("A", 1, 1)], {"street": "x" * 201})
        with pytest.raises(errors.InvalidValue):
            Order(ORDER_ID).place("alice", "EUR", [Line("A", 1, 1)], {"street": {"no": 1}})


class TestItems:
    def test_add_item_records_new_total(self):
        order = placed()
        order.add_item("B", 3, "2.00")
        event = order.pending[-1]
        assert isinstance(event, ItemAdded)
        assert (event.total, event.currency, order.version) == (Decimal("13.00"), "EUR", 2)

    def test_add_existing_sku_is_refused(self):
        order = placed()
        with pytest.raises(errors.DuplicateSku):
            order.add_item("A-1", 1, "1.00")

    def test_add_beyond_one_hundred_items_is_refused(self):
        order = placed(*(Line(f"S{i}", 1, Decimal("1")) for i in range(100)))
        with pytest.raises(errors.TooManyItems):
            order.add_item("EXTRA", 1, "1")

    def test_change_quantity_carries_unit_price_and_previous_quantity(self):
        order = placed()
        order.change_quantity("A-1", 5)
        event = order.pending[-1]
        assert isinstance(event, ItemQuantityChanged)
        assert (event.quantity, event.previous_quantity, event.unit_price) == (
            5,
            2,
            Decimal("3.50"),
        )
        assert event.total == order.total == Decimal("17.50")

    def test_change_to_the_same_quantity_is_refused(self):
        with pytest.raises(errors.QuantityUnchanged):
            placed().change_quantity("A-1", 2)

    def test_change_or_remove_unknown_sku_is_refused(self):
        order = placed(Line("A", 1, Decimal("1")), Line("B", 1, Decimal("1")))
        with pytest.raises(errors.UnknownSku):
            order.change_quantity("C", 1)
        with pytest.raises(errors.UnknownSku):
            order.remove_item("C")

    def test_remove_item(self):
        order = placed(Line("A", 1, Decimal("1")), Line("B", 2, Decimal("5")))
        order.remove_item("B")
        event = order.pending[-1]
        assert isinstance(event, ItemRemoved)
        assert (event.quantity, event.total, list(order.lines)) == (2, Decimal("1.00"), ["A"])

    def test_removing_the_last_item_is_refused(self):
        with pytest.raises(errors.LastItem):
            placed().remove_item("A-1")

    def test_bad_values_are_refused_before_state_rules(self):
        order = placed()
        order.ship()
        with pytest.raises(errors.InvalidValue):
            order.add_item("A B", 1, "1")


class TestFinalStates:
    def test_ship_then_nothing_changes(self):
        order = placed()
        order.ship("TRACK-1")
        assert order.status == SHIPPED
        assert isinstance(order.pending[-1], OrderShipped)
        for change in (
            lambda: order.add_item("B", 1, "1"),
            lambda: order.change_quantity("A-1", 3),
            lambda: order.remove_item("A-1"),
            lambda: order.ship(),
            lambda: order.cancel(),
        ):
            with pytest.raises(errors.OrderNotPlaced):
                change()

    def test_cancel_carries_lines_and_total_then_nothing_changes(self):
        order = placed(Line("A", 2, Decimal("1.50")), Line("B", 1, Decimal("4")))
        order.cancel("changed my mind")
        event = order.pending[-1]
        assert isinstance(event, OrderCancelled)
        assert (event.total, len(event.items), order.status) == (Decimal("7.00"), 2, CANCELLED)
        with pytest.raises(errors.OrderNotPlaced):
            order.ship()

    def test_commands_on_an_order_never_placed_are_refused(self):
        with pytest.raises(errors.OrderNotPlaced):
            Order(ORDER_ID).ship()

    def test_tracking_number_and_reason_are_bounded_printable_text(self):
        with pytest.raises(errors.InvalidValue):
            placed().ship("x" * 101)
        with pytest.raises(errors.InvalidValue):
            placed().cancel("line\nbreak")


class TestReplay:
    def test_state_rebuilt_from_events_equals_state_that_recorded_them(self):
        order = placed(Line("A", 1, Decimal("1.10")), Line("B", 2, Decimal("2.20")))
        order.add_item("C", 3, "3.30")
        order.change_quantity("A", 4)
        order.remove_item("B")
        order.ship("T-9")
        again = replayed(order)
        for attribute in ("version", "status", "lines", "total", "currency", "customer_id"):
            assert getattr(again, attribute) == getattr(order, attribute)
        assert again.tracking_number == "T-9"
        assert again.pending == []
        # The address is in the event, not in the aggregate: it keeps no personal data.
        assert order.pending[0].shipping_address == ShippingAddress(**OSLO)
        assert not hasattr(again, "shipping_address")

    def test_event_data_is_json_with_money_as_strings(self):
        order = placed()
        data = order.pending[0].to_data()
        assert data["total"] == "7.00"
        assert data["items"] == [{"sku": "A-1", "quantity": 2, "unit_price": "3.50"}]


def test_the_domain_imports_nothing_from_django():
    import pathlib

    package = pathlib.Path(__file__).parents[2] / "orders_write" / "domain"
    for module in package.glob("*.py"):
        assert "django" not in module.read_text(), module.name
