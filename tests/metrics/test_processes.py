"""Several processes add up: gunicorn workers, a Celery worker and this test process.

The commands run here, in the test process; the queries in gunicorn's workers; the
catch-ups (with a broker) in a real Celery worker. One scrape of gunicorn shows them
all, and a gunicorn worker that exits leaves its counts behind.
"""

import os
import signal
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

from config.celery_app import app
from config.metrics_dir import ENV

from ..processes import Api, free_port, start_web, start_worker, stop, wait_until
from .conftest import BOTH_DATABASES
from .scrape import Samples, moved, parsed, value

pytestmark = pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)

ORDER = {"currency": "EUR", "items": [{"sku": "A-1", "quantity": 1, "unit_price": "3.00"}]}
QUERIES = "ordinal_queries_total"
# A child process makes its own metrics directory, as a service does, instead of
# inheriting this process's.
OWN_DIRECTORY = {ENV: ""}
with_a_broker = pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL"),
    reason="needs a broker: set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0)",
)


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        return parsed(response.read().decode())


@pytest.fixture
def web(tmp_path):
    port = free_port()
    log = tmp_path / "web.log"
    process = start_web(
        log, port, workers=2, options=("--config", "python:config.gunicorn_hooks"), **OWN_DIRECTORY
    )
    yield port, process, log
    stop(process)


def test_one_scrape_adds_up_this_process_and_the_gunicorn_workers(alice, alice_client, web):
    port, process, log = web
    api = Api(port, Token.objects.create(user=alice).key)
    before = scrape(port)
    for _ in range(3):  # here, in the test process
        assert alice_client.post("/api/orders/", ORDER, format="json").status_code == 201
    for _ in range(4):  # in gunicorn's workers
        assert api.call("GET", "/api/orders/")[0] == 200
    after = scrape(port)

    placed = {"command": "PlaceOrder", "outcome": "succeeded"}
    assert moved(before, after, "ordinal_commands_total", **placed) >= 3
    assert moved(before, after, QUERIES, endpoint="orders-list", status="200") >= 4
    # Each process tree is its own series: this process's commands, gunicorn's queries.
    here, web_tree = Path(os.environ[ENV]).name, str(process.pid)
    assert moved(before, after, "ordinal_commands_total", process_tree=here, **placed) >= 3
    assert value(after, "ordinal_commands_total", process_tree=web_tree) == 0
    assert value(after, QUERIES, endpoint="orders-list", process_tree=web_tree) == 4
    assert len(_counter_files(process.pid)) >= 1

    # A worker that exits (recycled, or killed) leaves its counts: they still add up.
    served = sorted({int(path.stem.rsplit("_", 1)[1]) for path in _counter_files(process.pid)})
    os.kill(served[0], signal.SIGTERM)
    wait_until(lambda: _exited(served[0]), "the gunicorn worker exiting", log)
    assert value(scrape(port), QUERIES, endpoint="orders-list", process_tree=web_tree) == 4


def _counter_files(pid: int) -> list[Path]:
    return list((Path(settings.ORDINAL_METRICS_DIR) / str(pid)).glob("counter_*.db"))


def _exited(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie until the master reaps it: gone once its status is no longer "running".
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "zombie" in status.read_text()


@with_a_broker
def test_a_celery_worker_s_tasks_show_in_the_web_s_scrape(alice_client, web, tmp_path):
    port, _, _ = web
    log = tmp_path / "worker.log"
    app.control.purge()  # tasks other tests queued have nothing to do with this database
    worker = start_worker(log, concurrency=2, pool="prefork", **OWN_DIRECTORY)
    try:
        before = scrape(port)
        assert alice_client.post("/api/orders/", ORDER, format="json").status_code == 201
        # The command's nudge: a task that catches the projections up (or sends them tasks).
        succeeded = {"task": "orders_read.projections_catch_up", "outcome": "succeeded"}
        # Counted in a pool process of the worker's tree, read by gunicorn.
        tree = {"process_tree": str(worker.pid), **succeeded}
        wait_until(
            lambda: value(scrape(port), "ordinal_celery_tasks_total", **tree) >= 1,
            "the worker's task in the web's scrape",
            log,
        )
        assert moved(before, scrape(port), "ordinal_celery_tasks_total", **succeeded) >= 1
    finally:
        stop(worker)
