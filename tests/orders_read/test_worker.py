"""End to end on PostgreSQL and a broker: real Celery workers project what the API commands."""

import os
import signal
import uuid
from pathlib import Path

import pytest

from config.celery_app import app
from eventlog import store
from orders_read import rebuilds, runner

from ..conftest import postgres_only
from ..processes import start_worker, stop, wait_for_in_log, wait_until
from .conftest import BOTH_DATABASES, positions, snapshot

CONVERGE_SECONDS = 90  # a bound for slow CI machines, not an expectation

pytestmark = [
    postgres_only,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="needs a broker: set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0)",
    ),
    pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES),
]


def converged() -> bool:
    head = store.head_position()
    return set(positions().values()) == {head} and len(positions()) == len(
        runner.projection_names()
    )


def wait_until_converged(log: Path) -> None:
    wait_until(converged, "the read model converging", log, CONVERGE_SECONDS)


def place(client, sku: str, quantity: int, price: str, **headers: str) -> dict:
    body = {"currency": "EUR", "items": [{"sku": sku, "quantity": quantity, "unit_price": price}]}
    response = client.post("/api/orders/", body, format="json", headers=headers)
    assert response.status_code == 201, response.content
    return response.json()


def test_workers_project_commands_and_survive_a_crash(alice_client, staff_client, tmp_path):
    log = tmp_path / "worker.log"
    app.control.purge()  # tasks other tests queued have nothing to do with this database
    worker = start_worker(log)
    try:
        request_id = f"worker-test-{uuid.uuid4().hex}"
        placed = [place(alice_client, "A-1", 2, "1.50", **{"X-Request-ID": request_id})]
        placed += [place(alice_client, "A-1", 2, "1.50") for _ in range(9)]
        cancel = staff_client.post(
            f"/api/orders/{placed[0]['order_id']}/cancel/", {}, format="json"
        )
        assert cancel.status_code == 200
        last = place(alice_client, "B-2", 1, "4.00")
        # Read-your-writes through the API, with the worker doing the projecting.
        response = alice_client.get(
            f"/api/orders/{last['order_id']}/?min_position={last['position']}"
        )
        assert response.status_code in (200, 503)
        wait_until_converged(log)
        # The tasks a command queued log under its request's correlation id.
        wait_for_in_log(log, f"[{request_id}]")

        # A worker killed outright loses nothing: the log is the outbox.
        stop(worker, signal.SIGKILL)
        for _ in range(5):
            place(alice_client, "A-1", 1, "1.50")  # their nudges wait in the broker
        assert not converged()
        worker = start_worker(log)
        wait_until_converged(log)
    finally:
        stop(worker)

    summary = alice_client.get("/api/customers/alice/").json()
    assert (summary["orders_count"], summary["open_orders"]) == (16, 15)
    assert summary["totals"] == {"EUR": "38.50"}  # 9 x 3.00 + 4.00 + 5 x 1.50
    sales = {row["sku"]: row for row in staff_client.get("/api/reports/product-sales/").json()}
    assert (sales["A-1"]["units_sold"], sales["A-1"]["orders_count"]) == (23, 14)
    # What the workers built is what a replay builds.
    built = snapshot()
    for name in runner.projection_names():
        rebuilds.projections_rebuild([name])
    assert snapshot() == built
