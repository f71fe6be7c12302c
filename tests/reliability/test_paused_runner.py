"""A runner paused (SIGSTOP) holding its batch loses its lock: its late commit is refused."""

import os
import signal
import subprocess
import threading
import time

import pytest
from django.db import connections

from eventlog import store
from orders_read import runner
from tests.conftest import postgres_only

from .conftest import (
    BASE_DIR,
    BOTH_DATABASES,
    PYTHON,
    WAIT,
    child_env,
    positions,
    rebuilt,
    snapshot,
    waiting_on_a_lock,
)
from .worker_faults import assert_counts, write_orders

NAME = "product_sales"
ORDERS = 12

pytestmark = [
    postgres_only,  # the checkpoint row lock and pg_terminate_backend are PostgreSQL's
    pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES),
]


def read_line(child: subprocess.Popen, prefix: str) -> str:
    """The child's next line, which must start with `prefix`; its rest."""
    line = child.stdout.readline()
    assert line.startswith(prefix), f"expected {prefix!r} from the paused runner, got {line!r}"
    return line[len(prefix) :].strip()


def test_a_paused_runner_that_lost_its_lock_commits_nothing(no_nudge):
    """Fault: a runner process is SIGSTOPped right after taking its batch (checkpoint row
    locked, read transaction open); its session is then terminated, as a lease would
    expire, and a second runner takes over; then the paused one is continued.

    Must hold: the second runner waits while the lock is held, then applies every event;
    the paused runner's late commit is refused (it writes nothing), and its retry applies
    nothing; units are exactly as commanded and the model equals a rebuild.
    """
    expected = write_orders(ORDERS)
    child = subprocess.Popen(
        [PYTHON, "-m", "tests.reliability.paused_runner", NAME],
        cwd=BASE_DIR,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        backend = int(read_line(child, "backend "))
        assert int(read_line(child, "taken ")) > 0
        _, status = os.waitpid(child.pid, os.WUNTRACED)  # returns once it has stopped
        assert os.WIFSTOPPED(status)

        results: dict[str, object] = {}

        def second_runner() -> None:
            try:
                results["second"] = runner.projection_catch_up(NAME)
            except Exception as exc:  # asserted below
                results["second"] = exc
            finally:
                connections.close_all()

        second = threading.Thread(target=second_runner, daemon=True)
        second.start()
        deadline = time.monotonic() + WAIT
        while not waiting_on_a_lock():  # queued behind the paused runner's row lock
            assert time.monotonic() < deadline, "the second runner never waited for the lock"
            assert second.is_alive(), f"the second runner did not wait: {results}"
            time.sleep(0.02)
        assert positions()[NAME] == 0

        # The lock is lost, as a lease expiring would lose it: the session is ended.
        with connections["read"].cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
            assert cursor.fetchone()[0] is True
        second.join(WAIT)
        assert not second.is_alive()
        assert results == {"second": expected.events}
        assert positions()[NAME] == store.head_position()
        taken_over = snapshot()

        os.kill(child.pid, signal.SIGCONT)
        output, _ = child.communicate(timeout=WAIT)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGCONT)
            child.kill()
            child.wait(WAIT)

    lines = output.splitlines()
    assert lines[0].startswith("refused "), f"the late commit was not refused: {output}"
    assert lines[1:] == ["retry applied 0"], output
    assert child.returncode == 0, output
    assert snapshot() == taken_over, "the paused runner wrote something"
    assert positions()[NAME] == store.head_position()
    assert_counts(expected, customers=False)
    assert rebuilt()["ProductSales"] == taken_over["ProductSales"]
    print(f"\n{expected.events} events; paused runner: {lines[0]}; second runner applied all")
