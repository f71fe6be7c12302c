"""End to end on PostgreSQL and a broker: real Celery workers project what the API commands."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from config.celery_app import app
from eventlog import store
from orders_read import runner

from ..conftest import postgres_only
from .conftest import BOTH_DATABASES, positions, snapshot

BASE_DIR = Path(settings.BASE_DIR)
CONVERGE_SECONDS = 90  # a bound for slow CI machines, not an expectation

pytestmark = [
    postgres_only,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="needs a broker: set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0)",
    ),
    pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES),
]


def database_url(alias: str) -> str:
    """Return a URL for the test database behind an alias, for the worker process."""
    db = connections[alias].settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{db['USER']}{password}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    """Return the environment for a worker or web process on this test's databases."""
    return {
        **os.environ,
        "DATABASE_URL": database_url("default"),
        "READ_DATABASE_URL": database_url("read"),
        "ORDINAL_SWEEP_SECONDS": "2",
        "LOG_FORMAT": "plain",
        **extra,
    }


def start_worker(log: Path, **extra_env: str) -> subprocess.Popen:
    env = subprocess_env(**extra_env)
    command = [sys.executable, "-m", "celery", "-A", "config", "worker"]
    command += ["--pool", "threads", "--concurrency", "4", "--loglevel", "INFO"]
    command += ["--without-mingle", "--without-gossip", "-n", f"readside-{uuid.uuid4().hex}@%h"]
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def stop(worker: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if worker.poll() is None:
        worker.send_signal(sig)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)


def converged() -> bool:
    head = store.head_position()
    return set(positions().values()) == {head} and len(positions()) == 3


def wait_until_converged(log: Path) -> None:
    deadline = time.monotonic() + CONVERGE_SECONDS
    while not converged():
        if time.monotonic() > deadline:
            pytest.fail(f"the read model did not converge; worker log:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


def wait_for_in_log(log: Path, text: str) -> None:
    """Wait until the worker has logged `text` (its tasks may still be running)."""
    deadline = time.monotonic() + CONVERGE_SECONDS
    while text not in log.read_text():
        if time.monotonic() > deadline:
            pytest.fail(f"the worker never logged {text!r}; worker log:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


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
        runner.projection_rebuild(name)
    assert snapshot() == built
