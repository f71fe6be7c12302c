"""A worker SIGKILLed while it applies batches: restarted, it applies every event exactly once."""

import random
import signal
import time

import pytest

from eventlog import store
from eventlog.models import Event
from orders_read import runner
from tests.conftest import postgres_only
from tests.processes import start_worker, stop, wait_until

from .conftest import BOTH_DATABASES, WAIT, positions
from .servers import private_redis  # noqa: F401  (a fixture)
from .worker_faults import (
    CONVERGE_SECONDS,
    assert_counts,
    assert_same_as_a_rebuild,
    converged,
    publish_catch_up,
    write_orders,
)

ORDERS = 800  # about 2,000 events
BATCH_SIZE = 5  # many small read-DB transactions: a kill lands among them
FINAL_BATCH_SIZE = 200  # the last worker only has to finish the job
KILLS = 3

pytestmark = [
    postgres_only,  # a worker process beside the test: SQLite would serialise them
    pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES),
]


def progress() -> int:
    """Events applied so far, summed over the projections (their checkpoints)."""
    return sum(positions().values())


def test_a_worker_killed_mid_batch_leaves_nothing_applied_twice_or_lost(
    private_redis,  # noqa: F811  (the fixture imported above)
    no_nudge,
    tmp_path,
):
    """Fault: the worker is SIGKILLed several times while it applies batches of events.

    Must hold: each kill lands after a checkpoint moved and before the catch-up is done;
    after a restart the read model converges, every event applied once (units, orders and
    open orders exactly as commanded), and it equals a from-scratch rebuild.
    """
    expected = write_orders(ORDERS)  # in the log, not projected: the nudge is off
    events = Event.objects.count()
    assert events == expected.events
    broker, log = private_redis.url(0), tmp_path / "worker.log"
    env = {"CELERY_BROKER_URL": broker, "ORDINAL_PROJECTION_BATCH_SIZE": str(BATCH_SIZE)}
    rng = random.Random()
    killed_at: list[int] = []
    for _ in range(KILLS):
        worker = start_worker(log, concurrency=3, **env)
        try:
            # A restarted worker gets its work from the next nudge or sweep: send one.
            publish_catch_up(broker)
            before = progress()
            wait_until(
                lambda before=before: progress() > before, "a checkpoint moving", log, WAIT * 2
            )
            time.sleep(rng.uniform(0.0, 0.5))
        finally:
            stop(worker, signal.SIGKILL)
        killed_at.append(progress())
        done = len(runner.projection_names()) * store.head_position()
        assert killed_at[-1] < done, "the kill came after the catch-up"

    started = time.monotonic()
    env["ORDINAL_PROJECTION_BATCH_SIZE"] = str(FINAL_BATCH_SIZE)
    worker = start_worker(log, concurrency=3, **env)
    try:
        publish_catch_up(broker)
        wait_until(converged, "the read model converging", log, CONVERGE_SECONDS)
    finally:
        stop(worker)
    seconds = time.monotonic() - started

    assert_counts(expected)
    assert_same_as_a_rebuild()
    print(f"\n{events} events x 3 projections, batch {BATCH_SIZE}; {KILLS} kills at {killed_at}")
    print(f"applications at each kill; the last worker converged in {seconds:.1f} s")
