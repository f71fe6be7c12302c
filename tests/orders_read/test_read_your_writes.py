"""Read-your-writes: ?min_position= waits for the projections, or answers 503 + Retry-After.

History reads the event log itself, which is never behind: it answers at once.
"""

import threading
import time

import pytest
from django.db import connections

from eventlog import store
from orders_read import runner

from .conftest import BOTH_DATABASES, catch_up, line, place

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


def test_behind_min_position_is_a_503_with_retry_after(alice_client, short_wait):
    order_id = place("alice", line("A-1"))  # not projected
    position = store.head_position()
    response = alice_client.get(f"/api/orders/{order_id}/?min_position={position}")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "1"
    assert response["X-Read-Position"] == "0"
    assert response.json()["type"].endswith(":read-model-behind")


def test_every_query_endpoint_honours_min_position(alice_client, staff_client, short_wait):
    order_id = place("alice", line("A-1"))
    position = store.head_position()
    runner.projection_catch_up("order_view")  # the others stay behind
    ahead = position + 1
    for client, path, reached in [
        (alice_client, "/api/orders/", True),
        (alice_client, f"/api/orders/{order_id}/", True),
        (alice_client, "/api/customers/alice/orders/", True),
        (alice_client, "/api/customers/alice/", False),
        (staff_client, "/api/reports/product-sales/", False),
        (staff_client, "/api/projections/", False),
    ]:
        response = client.get(f"{path}?min_position={position}")
        assert response.status_code == (200 if reached else 503), path
        assert response["X-Read-Position"] == str(position if reached else 0), path
        assert client.get(f"{path}?min_position={ahead}").status_code == 503, path


@pytest.mark.parametrize("beyond", [0, 1, 1000])
def test_history_reads_the_log_so_min_position_answers_at_once(
    alice_client, no_nudge, settings, beyond
):
    settings.ORDINAL_READ_WAIT_SECONDS = 3  # what a wait would cost; the answer is far quicker
    order_id = place("alice", line("A-1"))  # the projections stay at 0
    head = store.head_position()
    started = time.monotonic()
    response = alice_client.get(f"/api/orders/{order_id}/history/?min_position={head + beyond}")
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.content
    assert [event["type"] for event in response.json()] == ["OrderPlaced"]
    # The log's head, even below min_position: the client sees no such event exists yet.
    assert response["X-Read-Position"] == str(head)
    assert elapsed < 1, f"history waited {elapsed:.2f} s"


def test_without_min_position_it_answers_at_once_with_its_position(alice_client):
    place("alice", line("A-1"))
    response = alice_client.get("/api/orders/")
    assert response.status_code == 200 and response.json()["results"] == []
    assert response["X-Read-Position"] == "0"
    catch_up()
    response = alice_client.get("/api/orders/")
    assert response["X-Read-Position"] == str(store.head_position())


@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_it_waits_for_the_projection_to_arrive(alice_client, no_nudge, settings):
    settings.ORDINAL_READ_WAIT_SECONDS = 30  # a bound, not an expectation
    order_id = place("alice", line("A-1"))
    position = store.head_position()
    started = threading.Event()

    def late_worker():
        try:
            started.wait(10)
            time.sleep(0.2)  # let the request start waiting first
            catch_up()
        finally:
            connections.close_all()

    worker = threading.Thread(target=late_worker, daemon=True)
    worker.start()
    started.set()
    response = alice_client.get(f"/api/orders/{order_id}/?min_position={position}")
    worker.join(30)
    assert response.status_code == 200
    assert int(response["X-Read-Position"]) >= position


@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_with_no_broker_the_read_model_is_current_when_the_command_returns(alice_client, eager):
    created = alice_client.post(
        "/api/orders/",
        {"currency": "EUR", "items": [{"sku": "A-1", "quantity": 2, "unit_price": "1.50"}]},
        format="json",
    )
    assert created.status_code == 201, created.content
    position = created.json()["position"]
    response = alice_client.get(f"{created['Location']}?min_position={position}")
    assert response.status_code == 200
    assert response.json()["total"] == "3.00"
    assert alice_client.get("/api/customers/alice/").json()["totals"] == {"EUR": "3.00"}
