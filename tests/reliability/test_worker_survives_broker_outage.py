"""Redis dies under a busy worker, again and again: the same worker consumes once it is back."""

import signal
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
from django.db import transaction

from config.celery_app import app
from config.redis_transport import Transport
from orders_read.models import Checkpoint
from tests.conftest import postgres_only
from tests.orders_read.conftest import place
from tests.processes import start_worker, stop

from .conftest import BOTH_DATABASES, WAIT, sessions_waiting_on_a_lock
from .servers import private_redis  # noqa: F401  (a fixture)
from .worker_faults import (
    CONVERGE_SECONDS,
    applied_per_task,
    assert_same_as_a_rebuild,
    converged,
    publish_catch_up,
    received,
    wait_alive,
)

OUTAGES = 5
DOWN_SECONDS = 0.5
# One thread more than the catch-up tasks held on the lock: the worker still has credit,
# so a BRPOP is in flight when Redis dies, the state in which kombu 5.7.0 made it exit.
CONCURRENCY = 4
LOST = "Connection to broker lost"


def holding(tasks: list[str], log: Path) -> bool:
    """Whether the worker has taken `tasks` and each waits on a checkpoint lock."""
    return set(tasks) <= set(received(log)) and sessions_waiting_on_a_lock() == len(tasks)


def noticed(outages: int, log: Path) -> bool:
    """Whether the worker has logged the loss of its broker `outages` times."""
    return log.read_text().count(LOST) == outages


def done(tasks: list[str], log: Path) -> bool:
    """Whether the worker has run `tasks` to the end and every projection is at the head."""
    return set(tasks) <= set(applied_per_task(log)) and converged()


@contextmanager
def checkpoints_locked():
    """Hold every checkpoint row lock: catch-up tasks wait, delivered and unacknowledged."""
    with transaction.atomic(using="read"):
        list(Checkpoint.objects.using("read").select_for_update())
        yield


@postgres_only  # a worker process beside the test, both on the test databases
@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_a_worker_busy_with_tasks_survives_redis_being_killed_and_consumes_after_each_return(
    private_redis,  # noqa: F811  (the fixture imported above)
    no_nudge,
    tmp_path,
):
    """Fault: Redis, the worker's broker, is SIGKILLed 5 times while the worker runs 3
    catch-up tasks (held on the checkpoint locks, so not acknowledged), down 0.5 s each
    time, started again empty on the same port.

    Must hold: the worker process is the same one throughout (it never exits); after each
    return it takes new tasks from the new Redis and projects a new event; the read model
    equals a rebuild.
    """
    broker, log = private_redis.url(0), tmp_path / "worker.log"
    worker = start_worker(log, concurrency=CONCURRENCY, CELERY_BROKER_URL=broker)
    children = {log: worker}
    resumed: list[float] = []  # seconds from Redis's return to the new tasks done
    try:
        place("c0")
        first = publish_catch_up(broker)
        what = "the first catch-up (the checkpoints created)"
        wait_alive(children, partial(done, first, log), what, CONVERGE_SECONDS)
        for outage in range(1, OUTAGES + 1):
            with checkpoints_locked():
                held = publish_catch_up(broker)
                what = f"3 catch-up tasks held on the checkpoint locks (outage {outage})"
                wait_alive(children, partial(holding, held, log), what, WAIT)
                private_redis.stop(signal.SIGKILL)
                what = f"the worker noticing outage {outage}"
                wait_alive(children, partial(noticed, outage, log), what, WAIT)
                time.sleep(DOWN_SECONDS)
                private_redis.start()  # same port, empty
                back = time.monotonic()
            # New work, queued only on the new Redis: it is done only if the worker consumes.
            place(f"c{outage}")
            fresh = publish_catch_up(broker)
            what = f"the worker consuming again after outage {outage}"
            wait_alive(children, partial(done, fresh, log), what, CONVERGE_SECONDS)
            resumed.append(time.monotonic() - back)
        assert worker.poll() is None, "the worker exited"
        lines = log.read_text()
    finally:
        stop(worker)

    assert lines.count(LOST) == OUTAGES
    assert lines.count(" ready.") == 1, "the worker started more than once"
    assert "Unrecoverable error" not in lines
    assert_same_as_a_rebuild()
    print(
        f"\n{OUTAGES} Redis kills under a worker holding 3 unacknowledged tasks: the same "
        f"process throughout (pid {worker.pid}); new tasks done "
        + ", ".join(f"{seconds:.1f}" for seconds in resumed)
        + " s after each return"
    )


def test_redis_urls_use_the_fixed_transport_and_other_schemes_are_untouched():
    """`redis://` and `rediss://` resolve to it (rediss keeps kombu's TLS default); amqp not."""
    # Nothing connects: a kombu connection opens its socket on first use.
    with (
        app.connection_for_write("redis://127.0.0.1:1/0") as plain,
        app.connection_for_write("rediss://127.0.0.1:1/0") as tls,
        app.connection_for_write("amqp://guest:guest@127.0.0.1:1//") as amqp,
    ):
        assert type(plain.transport) is Transport
        assert type(tls.transport) is Transport
        assert tls.ssl, "rediss:// lost kombu's TLS default"
        assert not isinstance(amqp.transport, Transport)
        assert plain.as_uri().startswith("redis://")  # as logged: "Connected to redis://..."
