"""X-Read-Position on every answer of a query, also a 400 or 401 that never reached the bus."""

import pytest
from django.db import DatabaseError

from eventlog import store
from orders_read import bus, runner

from .conftest import BOTH_DATABASES, line, place

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


@pytest.fixture
def endpoints(alice, staff):
    """Return each query endpoint, the position its answers report, and its status for staff.

    Only the order view has caught up (but for the last event): the endpoints it serves,
    the others and the history (which reads the log) each report a different position.
    """
    order_id = place("alice", line("A-1"))
    place("bob", line("B-1"))
    runner.projection_catch_up("order_view")
    place("alice", line("A-2"))  # in the log only: the order view is one event behind
    caught_up, head = store.head_position() - 1, store.head_position()
    return [
        ("/api/orders/", caught_up, 200),
        (f"/api/orders/{order_id}/", caught_up, 200),
        ("/api/customers/alice/orders/", caught_up, 200),
        (f"/api/orders/{order_id}/history/", head, 200),
        ("/api/customers/alice/", 0, 404),  # not in the customer summary yet
        ("/api/reports/product-sales/", 0, 200),
        ("/api/reports/daily-sales/", 0, 200),
        ("/api/projections/", 0, 200),
    ]


def test_an_answer_reports_the_position_of_the_read_models_behind_it(staff_client, endpoints):
    for path, position, status in endpoints:
        response = staff_client.get(path)
        assert response.status_code == status, path
        assert response["X-Read-Position"] == str(position), path


def test_a_bad_parameter_is_a_400_with_the_read_position(staff_client, endpoints):
    for path, position, _ in endpoints:
        response = staff_client.get(path, {"min_position": "soon"})
        assert response.status_code == 400, path
        assert response.json()["errors"].keys() == {"min_position"}, path
        assert response["X-Read-Position"] == str(position), path


def test_no_credentials_is_a_401_with_the_read_position(anon_client, endpoints):
    for path, position, _ in endpoints:
        response = anon_client.get(path)
        assert response.status_code == 401, path
        assert response["X-Read-Position"] == str(position), path
        assert anon_client.head(path)["X-Read-Position"] == str(position), path


def test_a_command_error_carries_no_read_position(anon_client, alice_client, endpoints):
    # A command's answer is the write side's: it has no read position to report.
    assert "X-Read-Position" not in anon_client.post("/api/orders/", {}, format="json")
    assert "X-Read-Position" not in alice_client.post("/api/orders/", {}, format="json")


def test_with_the_read_database_down_the_answer_has_no_position_and_no_500(
    staff_client, anon_client, monkeypatch
):
    def unreachable(projections, **how):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(bus, "read_position", unreachable)
    for client, status in [(staff_client, 503), (anon_client, 401)]:
        response = client.get("/api/orders/")
        assert response.status_code == status
        assert "X-Read-Position" not in response
    assert staff_client.get("/api/orders/")["Retry-After"] == "5"
