"""A process that dies between a command's commit and its nudge: the sweep brings it level."""

import subprocess
import time
import uuid

import pytest
import redis

from eventlog.models import Event
from orders_read.models import CustomerSummary, ProductSales
from tests.conftest import postgres_only
from tests.processes import start_beat, start_worker, stop, wait_for_in_log, wait_until

from .conftest import BASE_DIR, BOTH_DATABASES, PYTHON, WAIT, child_env, positions
from .crash_after_commit import CRASHED
from .servers import private_redis  # noqa: F401  (a fixture)
from .worker_faults import CONVERGE_SECONDS, assert_same_as_a_rebuild, converged

pytestmark = [
    postgres_only,  # several processes on one database: SQLite would serialise them
    pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES),
]


def crash_after_commit(broker_url: str, *args: str) -> None:
    """Dispatch one command in a child that dies right after its commit; check it did."""
    child = subprocess.run(
        [PYTHON, "-m", "tests.reliability.crash_after_commit", *args],
        cwd=BASE_DIR,
        env=child_env(CELERY_BROKER_URL=broker_url),
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
    )
    assert child.returncode == CRASHED, (child.returncode, child.stdout, child.stderr)
    assert "committed; dying before the nudge" in child.stdout


def test_commands_whose_process_died_before_the_nudge_are_projected_by_the_sweep(
    private_redis,  # noqa: F811  (the fixture imported above)
    tmp_path,
):
    """Fault: each command's process exits (os._exit) after its commit, before its nudge.

    Must hold: no nudge reaches the broker, yet the beat sweep and a worker project every
    committed event; the read model equals a from-scratch rebuild.
    """
    broker = private_redis.url(0)
    orders = [uuid.uuid4() for _ in range(4)]
    for n, order_id in enumerate(orders):
        crash_after_commit(broker, "place", str(order_id), f"c{n % 2}", "K-1", str(n + 1), "2.50")
    crash_after_commit(broker, "cancel", str(orders[0]), "c0")

    # The commits happened; the nudges did not: nothing at all was published.
    assert Event.objects.count() == 5
    assert redis.Redis.from_url(broker).dbsize() == 0, "a nudge reached the broker"
    assert not converged()

    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    worker = start_worker(worker_log, concurrency=2, CELERY_BROKER_URL=broker)
    beat = None
    try:
        wait_for_in_log(worker_log, " ready.")
        # At DEBUG: beat's "Sending due task" line is routine work, not shown at INFO.
        beat = start_beat(
            beat_log, tmp_path / "beat-schedule", CELERY_BROKER_URL=broker, LOG_LEVEL="DEBUG"
        )
        started = time.monotonic()
        what = "the sweep projecting the orphaned events"
        wait_until(converged, what, worker_log, CONVERGE_SECONDS)
        seconds = time.monotonic() - started
    finally:
        if beat is not None:
            stop(beat)
        stop(worker)

    # Only the sweep can have queued the work: the beat sent it, the worker ran it.
    assert "orders_read.projections_catch_up" in beat_log.read_text()
    summaries = dict(
        CustomerSummary.objects.using("read").values_list("customer_id", "orders_count")
    )
    assert summaries == {"c0": 2, "c1": 2}
    open_orders = CustomerSummary.objects.using("read").get(customer_id="c0").open_orders
    assert open_orders == 1  # the cancel, applied once
    assert ProductSales.objects.using("read").get(sku="K-1").units_sold == 2 + 3 + 4
    assert_same_as_a_rebuild()
    print(f"\n5 commands crashed after commit; converged {seconds:.1f} s after beat started")
    print(f"checkpoints: {positions()}")
