"""Who sees what: customers their own, staff everything, anonymous nothing (401)."""

import pytest

from .conftest import BOTH_DATABASES, catch_up, line, place

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)

PROBLEM = "application/problem+json"


@pytest.fixture
def orders(alice, bob):
    ids = {"alice": place("alice", line("A-1")), "bob": place("bob", line("B-1"))}
    catch_up()
    return ids


def paths(order_id) -> list[str]:
    return [
        "/api/orders/",
        f"/api/orders/{order_id}/",
        f"/api/orders/{order_id}/history/",
        "/api/customers/alice/",
        "/api/customers/alice/orders/",
        "/api/reports/product-sales/",
        "/api/reports/daily-sales/",
        "/api/projections/",
    ]


def test_anonymous_gets_401_everywhere(anon_client, orders):
    for path in paths(orders["alice"]):
        response = anon_client.get(path)
        assert response.status_code == 401, path
        assert response["Content-Type"] == PROBLEM


def test_a_customer_sees_only_their_own_orders(alice_client, orders):
    listed = alice_client.get("/api/orders/").json()["results"]
    assert [o["order_id"] for o in listed] == [str(orders["alice"])]
    # Asking for someone else's orders by filter shows nothing of theirs.
    assert alice_client.get("/api/orders/?customer_id=bob").json()["results"] == []
    assert alice_client.get(f"/api/orders/{orders['alice']}/").status_code == 200
    for path in (
        f"/api/orders/{orders['bob']}/",
        f"/api/orders/{orders['bob']}/history/",
        "/api/customers/bob/",
        "/api/customers/bob/orders/",
    ):
        response = alice_client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == PROBLEM


def test_staff_only_endpoints_refuse_customers(alice_client, orders):
    for path in ("/api/reports/product-sales/", "/api/reports/daily-sales/", "/api/projections/"):
        response = alice_client.get(path)
        assert response.status_code == 403, path
        assert response["Content-Type"] == PROBLEM


def test_staff_see_everything(staff_client, orders):
    listed = staff_client.get("/api/orders/").json()["results"]
    assert {o["order_id"] for o in listed} == {str(i) for i in orders.values()}
    only_bob = staff_client.get("/api/orders/?customer_id=bob").json()["results"]
    assert [o["order_id"] for o in only_bob] == [str(orders["bob"])]
    for path in [*paths(orders["bob"]), "/api/customers/bob/", "/api/customers/bob/orders/"]:
        assert staff_client.get(path).status_code == 200, path


def test_query_paths_refuse_other_methods_than_get_and_post(alice_client, orders):
    response = alice_client.delete(f"/api/orders/{orders['alice']}/")
    assert response.status_code == 405
    assert "GET" in response["Allow"]
