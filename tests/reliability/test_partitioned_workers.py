"""Three worker processes share four partitions; one is SIGKILLed midway: nothing is lost."""

import re
import signal
import time

import pytest

from eventlog import store
from eventlog.models import Event
from orders_read import runner, selectors
from orders_read.models import PartitionCheckpoint
from tests.conftest import postgres_only
from tests.processes import start_beat, start_worker, stop, wait_until

from .conftest import BOTH_DATABASES
from .servers import private_redis  # noqa: F401  (a fixture)
from .worker_faults import CONVERGE_SECONDS, assert_counts, assert_same_as_a_rebuild, write_orders

ORDERS = 300  # about 750 events
PARTITIONS = 4
BATCH_SIZE = 8  # many small read-DB transactions: the kill lands among them
WORKERS = 3
TASK_RESULT = re.compile(
    r"orders_read\.projection_catch_up\[[0-9a-f-]+\] succeeded in [0-9.e-]+s: (\d+)"
)

pytestmark = [
    postgres_only,  # worker processes beside the test: SQLite would serialise them
    pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES),
]


def reached() -> int:
    """The lowest position every projection has applied the log up to."""
    names = tuple(runner.projection_names())
    return min(selectors.checkpoint_positions_get(names=names).values(), default=0)


def partition_progress() -> int:
    """Partition keys moved so far, summed (positions)."""
    return sum(PartitionCheckpoint.objects.using("read").values_list("position", flat=True))


def read_by(log) -> int:
    """Feed events the worker's catch-up tasks reported reading, from its log."""
    return sum(int(n) for n in TASK_RESULT.findall(log.read_text()))


def test_three_workers_share_four_partitions_and_survive_one_killed(
    private_redis,  # noqa: F811  (the fixture imported above)
    no_nudge,
    settings,
    tmp_path,
):
    """Fault: one of three workers projecting four partitions is SIGKILLed mid-batch.

    Must hold: the workers lease different partitions at once (each applies events);
    the survivors, fed by the beat's sweep, take the killed one's partitions over; every
    projection reaches the head with every event applied once (counts as commanded) and
    equals a from-scratch rebuild.
    """
    settings.ORDINAL_PROJECTION_PARTITIONS = PARTITIONS
    expected = write_orders(ORDERS)
    assert Event.objects.count() == expected.events
    env = {
        "CELERY_BROKER_URL": private_redis.url(0),
        "ORDINAL_PROJECTION_PARTITIONS": str(PARTITIONS),
        "ORDINAL_PROJECTION_BATCH_SIZE": str(BATCH_SIZE),
        "ORDINAL_SWEEP_SECONDS": "1",
    }
    logs = [tmp_path / f"worker-{n}.log" for n in range(WORKERS)]
    workers = [start_worker(log, concurrency=1, **env) for log in logs]
    beat = start_beat(tmp_path / "beat.log", tmp_path / "schedule", **env)
    try:
        wait_until(
            lambda: partition_progress() > 0 and all(read_by(log) for log in logs),
            "every worker applying events of some partition",
            logs[0],
            CONVERGE_SECONDS,
        )
        killed_at = reached()
        stop(workers[0], signal.SIGKILL)
        assert killed_at < store.head_position(), "the kill came after the catch-up"
        started = time.monotonic()
        wait_until(
            lambda: reached() == store.head_position(),
            "the survivors bringing every partition to the head",
            logs[1],
            CONVERGE_SECONDS,
        )
        seconds = time.monotonic() - started
    finally:
        for process in (*workers, beat):
            stop(process)

    layout = PartitionCheckpoint.objects.using("read").values_list("projection", "partitions")
    assert sorted(set(layout)) == [(name, PARTITIONS) for name in sorted(runner.projection_names())]
    assert_counts(expected)
    assert_same_as_a_rebuild()
    shares = [read_by(log) for log in logs]
    print(f"\n{expected.events} events, {PARTITIONS} partitions, {WORKERS} workers: read {shares};")
    print(f"killed worker 0 at position {killed_at}; the survivors finished in {seconds:.1f} s")
