"""Each projector, event type by event type: what the read models show after it."""

from decimal import Decimal

import pytest

from orders_read import runner
from orders_read.models import CustomerSummary, OrderView, ProductSales
from orders_write import commands

from .conftest import BOTH_DATABASES, catch_up, line, place, run

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


def order(order_id) -> OrderView:
    return OrderView.objects.using("read").get(order_id=order_id)


def customer(customer_id: str = "alice") -> CustomerSummary:
    return CustomerSummary.objects.using("read").get(customer_id=customer_id)


def sales(sku: str) -> ProductSales:
    return ProductSales.objects.using("read").get(sku=sku)


@pytest.fixture
def placed():
    """Alice's order: A-1 x2 at 10.00 and B-2 x1 at 5.50, projected."""
    order_id = place(
        "alice",
        line("A-1", 2, "10.00"),
        line("B-2", 1, "5.50"),
        shipping_address={"line1": "1 rue X", "city": "Lyon", "country": "FR"},
    )
    catch_up()
    return order_id


def test_order_placed(placed):
    view = order(placed)
    assert (view.customer_id, view.status, view.currency) == ("alice", "placed", "EUR")
    assert view.items == [
        {"sku": "A-1", "quantity": 2, "unit_price": "10.00", "line_total": "20.00"},
        {"sku": "B-2", "quantity": 1, "unit_price": "5.50", "line_total": "5.50"},
    ]
    assert (view.item_count, view.total, view.version) == (3, Decimal("25.50"), 1)
    assert view.shipping_address == {
        "name": "",
        "line1": "1 rue X",
        "line2": "",
        "city": "Lyon",
        "postal_code": "",
        "country": "FR",
    }
    assert view.placed_at == view.updated_at and view.shipped_at is None
    summary = customer()
    assert (summary.orders_count, summary.open_orders, summary.totals) == (1, 1, {"EUR": "25.50"})
    assert summary.last_order_at == view.placed_at
    assert (sales("A-1").units_sold, sales("A-1").orders_count) == (2, 1)
    assert sales("A-1").revenue == {"EUR": "20.00"}
    assert sales("B-2").revenue == {"EUR": "5.50"}


def test_item_added(placed):
    run(commands.AddItem(placed, sku="C-3", quantity=3, unit_price=Decimal("1.10")))
    catch_up()
    view = order(placed)
    assert view.items[-1] == {
        "sku": "C-3",
        "quantity": 3,
        "unit_price": "1.10",
        "line_total": "3.30",
    }
    assert (view.item_count, view.total, view.version) == (6, Decimal("28.80"), 2)
    assert view.updated_at > view.placed_at
    assert customer().totals == {"EUR": "28.80"}
    assert (sales("C-3").units_sold, sales("C-3").orders_count) == (3, 1)
    assert sales("C-3").revenue == {"EUR": "3.30"}


def test_item_quantity_changed(placed):
    run(commands.ChangeItemQuantity(placed, sku="A-1", quantity=5))
    catch_up()
    view = order(placed)
    assert view.items[0] == {
        "sku": "A-1",
        "quantity": 5,
        "unit_price": "10.00",
        "line_total": "50.00",
    }
    assert (view.item_count, view.total) == (6, Decimal("55.50"))
    assert customer().totals == {"EUR": "55.50"}
    assert (sales("A-1").units_sold, sales("A-1").orders_count) == (5, 1)
    assert sales("A-1").revenue == {"EUR": "50.00"}


def test_item_removed(placed):
    run(commands.RemoveItem(placed, sku="A-1"))
    catch_up()
    view = order(placed)
    assert [i["sku"] for i in view.items] == ["B-2"]
    assert (view.item_count, view.total) == (1, Decimal("5.50"))
    assert customer().totals == {"EUR": "5.50"}
    assert (sales("A-1").units_sold, sales("A-1").orders_count) == (0, 0)
    assert sales("A-1").revenue == {"EUR": "0.00"}


def test_order_shipped(placed):
    run(commands.ShipOrder(placed, tracking_number="TRK-1"), "stella", staff=True)
    catch_up()
    view = order(placed)
    assert (view.status, view.tracking_number, view.version) == ("shipped", "TRK-1", 2)
    assert view.shipped_at == view.updated_at
    summary = customer()
    assert (summary.orders_count, summary.open_orders, summary.totals) == (1, 0, {"EUR": "25.50"})
    assert sales("A-1").units_sold == 2  # shipped orders are sales


def test_order_cancelled(placed):
    run(commands.ChangeItemQuantity(placed, sku="A-1", quantity=4))
    run(commands.CancelOrder(placed, reason="changed my mind"))
    catch_up()
    view = order(placed)
    assert (view.status, view.version) == ("cancelled", 3)
    assert view.cancelled_at == view.updated_at
    assert view.total == Decimal("45.50")  # what was cancelled stays visible on the order
    summary = customer()
    assert (summary.orders_count, summary.open_orders, summary.totals) == (1, 0, {"EUR": "0.00"})
    for sku in ("A-1", "B-2"):
        assert (sales(sku).units_sold, sales(sku).orders_count) == (0, 0)
        assert sales(sku).revenue == {"EUR": "0.00"}


def test_totals_are_kept_per_currency_and_customer():
    place("alice", line("A-1", 1, "10.00"), currency="EUR")
    place("alice", line("A-1", 2, "3.00"), currency="USD")
    place("bob", line("A-1", 1, "7.25"), currency="EUR")
    catch_up()
    assert customer("alice").totals == {"EUR": "10.00", "USD": "6.00"}
    assert customer("alice").orders_count == 2
    assert customer("bob").totals == {"EUR": "7.25"}
    assert (sales("A-1").units_sold, sales("A-1").orders_count) == (4, 3)
    assert sales("A-1").revenue == {"EUR": "17.25", "USD": "6.00"}


def test_events_the_projectors_do_not_know_are_passed_over():
    from eventlog import store

    store.append(
        stream_type="other",
        stream_id=place(),
        expected_version=1,
        events=[store.NewEvent("SomethingElse", {"x": 1})],
    )
    assert catch_up() == {name: 2 for name in runner.projection_names()}
    assert OrderView.objects.using("read").get().version == 1
