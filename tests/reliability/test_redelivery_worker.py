"""Invariant 4 through real workers: a catch-up task redelivered while it runs has one effect.

How the Redis transport redelivers (kombu's `transport/redis.py`): a message a worker
has taken but not acknowledged (`acks_late`) waits in the `unacked` hash, indexed by the
time it was delivered. `QoS.restore_visible` pushes every such message older than
`visibility_timeout` back onto its queue. A worker calls it when it registers its
connection with its event loop (`on_poll_init`, at start and on each reconnect), then
every `unacked_restore_interval` seconds, scanning only every
`unacked_restore_throttle`-th call (10 s x 10 by default). So with a 1 s visibility
timeout, a second worker starting while the first still runs a task takes that very
task again: the same task id, run twice, concurrently.
"""

import re
from datetime import datetime
from pathlib import Path

import pytest

from eventlog.models import Event
from orders_read import runner
from tests.conftest import postgres_only
from tests.processes import start_worker, stop, wait_until

from .conftest import BOTH_DATABASES, WAIT
from .servers import private_redis  # noqa: F401  (a fixture)
from .worker_faults import (
    CATCH_UP_TASK,
    CONVERGE_SECONDS,
    applied_per_task,
    assert_counts,
    assert_same_as_a_rebuild,
    converged,
    publish_catch_up,
    received,
    write_orders,
)

ORDERS = 300  # about 750 events
BATCH_SIZE = 2  # many small transactions: the first run is still going when the second starts

pytestmark = [
    postgres_only,  # two worker processes beside the test: SQLite would serialise them
    pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES),
]


def logged_at(log: Path, task_id: str, what: str) -> datetime:
    """When a worker logged `what` ("received", "succeeded") for a task (its log's clock)."""
    pattern = rf"^(\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d,\d{{3}}) .*{re.escape(CATCH_UP_TASK)}"
    pattern += rf"\[{task_id}\] {what}"
    found = re.search(pattern, log.read_text(), re.MULTILINE)
    assert found, f"{log.name} has no {what!r} line for {task_id}"
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f")


def test_a_task_redelivered_to_a_second_worker_while_it_runs_has_one_effect(
    private_redis,  # noqa: F811  (the fixture imported above)
    no_nudge,
    tmp_path,
):
    """Fault: a 1 s visibility timeout on a Redis broker; a second worker starts while the
    first still runs the catch-up tasks, and the transport hands it the same tasks again.

    Must hold: a redelivery really happened (the same task ids received by both workers,
    the second receipt before the first run finished); together the two runs of each task
    applied every event once; counts are exact and the model equals a rebuild.
    """
    expected = write_orders(ORDERS)
    events = Event.objects.count()
    broker = private_redis.url(0)
    env = {
        "CELERY_BROKER_URL": broker,
        "CELERY_VISIBILITY_TIMEOUT": "1",
        "ORDINAL_PROJECTION_BATCH_SIZE": str(BATCH_SIZE),
    }
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_worker(first_log, concurrency=len(runner.projection_names()), **env)
    second = None
    try:
        ids = publish_catch_up(broker)
        what = "the first worker receiving every task"
        wait_until(lambda: set(received(first_log)) >= set(ids), what, first_log, WAIT * 2)
        assert not converged()
        # Its registration restores every unacked message older than 1 s: the first's.
        second = start_worker(second_log, concurrency=len(runner.projection_names()), **env)
        wait_until(converged, "the read model converging", second_log, CONVERGE_SECONDS)

        def both_runs_finished() -> bool:
            runs = set(applied_per_task(first_log)), set(applied_per_task(second_log))
            return all(run >= set(ids) for run in runs)

        wait_until(both_runs_finished, "both runs of every task finishing", second_log, WAIT * 2)
    finally:
        if second is not None:
            stop(second)
        stop(first)

    redelivered = set(received(first_log)) & set(received(second_log))
    assert redelivered == set(ids), "no redelivery: the test proved nothing"
    for task_id in ids:
        # The second delivery came while the first run was still going.
        assert logged_at(second_log, task_id, "received") < logged_at(
            first_log, task_id, "succeeded"
        )
    first_runs, second_runs = applied_per_task(first_log), applied_per_task(second_log)
    applied = {task_id: (first_runs[task_id], second_runs[task_id]) for task_id in ids}
    assert all(a + b == events for a, b in applied.values()), (
        f"an event was applied twice or never: {applied} for {events} events"
    )
    assert_counts(expected)
    assert_same_as_a_rebuild()
    print(f"\n{events} events, batch {BATCH_SIZE}; events applied per task (first, second):")
    print(", ".join(f"{a}+{b}" for a, b in applied.values()))
