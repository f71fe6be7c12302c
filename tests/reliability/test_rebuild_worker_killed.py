"""A worker SIGKILLed mid-rebuild: the live model is unharmed, and the rebuild resumes."""

import signal
import time
import warnings

import pytest

from config.celery_app import app
from eventlog import store
from eventlog.models import Event
from orders_read import rebuilds
from orders_read.models import Checkpoint, Rebuild
from tests.conftest import postgres_only
from tests.processes import start_worker, stop, wait_until

from .conftest import BOTH_DATABASES, WAIT, positions, snapshot
from .servers import private_redis  # noqa: F401  (a fixture)
from .worker_faults import CONVERGE_SECONDS, assert_same_as_a_rebuild, write_orders

ORDERS = 400
BATCH_SIZE = 5  # many small transactions: the kill lands among them
STALE_SECONDS = 2

pytestmark = [
    postgres_only,  # a worker process beside the test
    pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES),
]


def send(broker_url: str, task: str, *args) -> None:
    """Publish a task on the private broker (the suite's own may run tasks eagerly)."""
    with app.connection_for_write(broker_url) as connection, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app.send_task(task, args=list(args), connection=connection)


def rebuild(pk: int) -> Rebuild:
    return Rebuild.objects.using("read").get(pk=pk)


def test_a_rebuild_killed_midway_resumes_and_the_live_model_stays_whole(
    private_redis,  # noqa: F811  (the fixture imported above)
    no_nudge,
    tmp_path,
):
    """Fault: the worker running a rebuild is SIGKILLed after some of its transactions.

    Must hold: the live model and its checkpoint are untouched by the kill; the sweep
    hands the stalled rebuild to the next worker, which resumes it from its last
    committed position (not from 0) and swaps in a model equal to a fresh replay.
    """
    write_orders(ORDERS)
    rebuilds.projections_rebuild(["order_view"])  # the live model, built
    live, at = snapshot(), positions()
    broker, log = private_redis.url(0), tmp_path / "worker.log"
    env = {
        "CELERY_BROKER_URL": broker,
        "ORDINAL_REBUILD_BATCH_SIZE": str(BATCH_SIZE),
        "ORDINAL_REBUILD_STALE_SECONDS": str(STALE_SECONDS),
    }
    build = rebuilds.rebuild_request("order_view")

    worker = start_worker(log, concurrency=2, **env)
    try:
        send(broker, "orders_read.projection_rebuild_run", build.pk)
        wait_until(lambda: rebuild(build.pk).position > 0, "the rebuild moving", log, WAIT * 2)
        time.sleep(0.2)
    finally:
        stop(worker, signal.SIGKILL)
    killed = rebuild(build.pk)
    assert killed.status == "running" and 0 < killed.position < store.head_position()
    assert snapshot() == live and positions() == at  # the live model is unharmed

    time.sleep(STALE_SECONDS + 0.5)  # no progress since the kill: stale
    worker = start_worker(log, concurrency=2, **env)
    try:
        send(broker, "orders_read.projections_catch_up")  # the beat's sweep
        wait_until(
            lambda: rebuild(build.pk).status == "done",
            "the rebuild finishing",
            log,
            CONVERGE_SECONDS,
        )
    finally:
        stop(worker)
    done = rebuild(build.pk)
    # Resumed where it stopped: the events read add up to the log once, not twice.
    assert done.started_at == killed.started_at
    assert done.events_done == Event.objects.count()
    assert Checkpoint.objects.using("read").get(name="order_view").position == store.head_position()
    assert "order_view" in log.read_text()
    assert_same_as_a_rebuild()
