"""The query endpoints: shapes, money as strings, ETags, history, reports, X-Read-Position."""

import pytest

from eventlog import store
from orders_read import runner
from orders_write import commands

from .conftest import BOTH_DATABASES, catch_up, line, place, run

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)

ORDER_FIELDS = {
    "order_id",
    "customer_id",
    "status",
    "currency",
    "items",
    "item_count",
    "total",
    "shipping_address",
    "tracking_number",
    "placed_at",
    "updated_at",
    "shipped_at",
    "cancelled_at",
    "version",
    "redacted",
}


@pytest.fixture
def order_id(alice):
    order_id = place("alice", line("A-1", 2, "10.00"), line("B-2", 1, "5.50"))
    run(commands.ShipOrder(order_id, tracking_number="TRK-9"), "stella", staff=True)
    catch_up()
    return order_id


def test_order_detail(alice_client, order_id):
    response = alice_client.get(f"/api/orders/{order_id}/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ORDER_FIELDS
    assert body["order_id"] == str(order_id)
    assert (body["status"], body["tracking_number"], body["version"]) == ("shipped", "TRK-9", 2)
    assert body["total"] == "25.50" and body["item_count"] == 3
    assert body["items"][0] == {
        "sku": "A-1",
        "quantity": 2,
        "unit_price": "10.00",
        "line_total": "20.00",
    }
    assert body["shipped_at"] and body["cancelled_at"] is None
    assert response["ETag"] == '"2"'
    assert response["X-Read-Position"] == str(store.head_position())


def test_if_none_match_gives_304(alice_client, order_id):
    response = alice_client.get(f"/api/orders/{order_id}/", HTTP_IF_NONE_MATCH='"2"')
    assert response.status_code == 304
    assert response["ETag"] == '"2"' and response["X-Read-Position"]
    assert not response.content
    assert alice_client.get(f"/api/orders/{order_id}/", HTTP_IF_NONE_MATCH='"1"').status_code == 200
    both = alice_client.get(f"/api/orders/{order_id}/", HTTP_IF_NONE_MATCH='"1", W/"2"')
    assert both.status_code == 304


def test_history_comes_from_the_log(alice_client, order_id):
    response = alice_client.get(f"/api/orders/{order_id}/history/")
    assert response.status_code == 200
    events = response.json()
    assert [(e["version"], e["type"], e["actor"]) for e in events] == [
        (1, "OrderPlaced", "alice"),
        (2, "OrderShipped", "stella"),
    ]
    assert events[0]["data"]["total"] == "25.50"
    assert events[0]["position"] < events[1]["position"] and events[0]["recorded_at"]
    assert response["X-Read-Position"] == str(store.head_position())


def test_customer_summary(alice_client, order_id):
    place("alice", line("A-1", 1, "3.00"), currency="USD")
    cancelled = place("alice", line("A-1", 1, "99.00"))
    run(commands.CancelOrder(cancelled))
    catch_up()
    response = alice_client.get("/api/customers/alice/")
    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == "alice"
    assert (body["orders_count"], body["open_orders"]) == (3, 1)
    assert body["totals"] == {"EUR": "25.50", "USD": "3.00"}
    assert body["last_order_at"]
    assert response["X-Read-Position"] == str(store.head_position())


def test_a_customer_without_orders_has_an_empty_summary(bob_client):
    body = bob_client.get("/api/customers/bob/").json()
    assert body == {
        "customer_id": "bob",
        "orders_count": 0,
        "open_orders": 0,
        "totals": {},
        "last_order_at": None,
    }


def test_customer_orders(alice_client, order_id):
    place("bob", line("A-1"))
    catch_up()
    body = alice_client.get("/api/customers/alice/orders/").json()
    assert [o["order_id"] for o in body["results"]] == [str(order_id)]


def test_product_sales_report(staff_client, order_id):
    cancelled = place("bob", line("A-1", 5, "1.00"), line("Z-9", 1, "1.00"))
    run(commands.CancelOrder(cancelled), "bob")
    place("bob", line("A-1", 1, "2.00"), currency="USD")
    catch_up()
    response = staff_client.get("/api/reports/product-sales/")
    assert response.status_code == 200
    assert response.json() == [
        {
            "sku": "A-1",
            "units_sold": 3,
            "orders_count": 2,
            "revenue": {"EUR": "20.00", "USD": "2.00"},
        },
        {"sku": "B-2", "units_sold": 1, "orders_count": 1, "revenue": {"EUR": "5.50"}},
    ]


def test_projection_status(staff_client, order_id):
    place("bob", line("A-1"))  # not projected yet
    head = store.head_position()
    response = staff_client.get("/api/projections/")
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()}
    assert set(rows) == set(runner.projection_names())
    for row in rows.values():
        assert row["head"] == head and row["position"] < head
        assert row["lag_events"] == 1 and row["lag_seconds"] >= 0
        assert row["status"] == "catching_up" and row["last_error"] is None
    catch_up()
    rows = staff_client.get("/api/projections/").json()
    assert {(r["status"], r["lag_events"], r["lag_seconds"]) for r in rows} == {
        ("up_to_date", 0, 0.0)
    }
    assert response["X-Read-Position"]


def test_unknown_order_is_a_404_problem_with_a_read_position(staff_client):
    response = staff_client.get("/api/orders/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response["X-Read-Position"] == "0"
    assert staff_client.get("/api/customers/nobody/").status_code == 404
    history = staff_client.get("/api/orders/00000000-0000-0000-0000-000000000000/history/")
    assert history.status_code == 404
