"""The broker is down: commands still succeed promptly; once it is back, the sweep converges."""

import signal
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework.authtoken.models import Token

from orders_read.models import CustomerSummary, ProductSales
from tests.conftest import postgres_only
from tests.processes import Api, free_port, start_beat, start_web, start_worker, stop, wait_until

from .conftest import BOTH_DATABASES
from .servers import private_redis  # noqa: F401  (a fixture)
from .worker_faults import CONVERGE_SECONDS, assert_same_as_a_rebuild, converged, wait_alive

COMMANDS = 100
CLIENTS = 4  # concurrent clients, as many as the web process has threads
# Proves a command does not hang on the broker (the client gives up at 10 s): a bound
# for a loaded 2-core machine, not a speed assertion.
HANG_SECONDS = 8
SWEEP_SECONDS = 2

pytestmark = [
    postgres_only,  # web, worker and beat processes on one database
    pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES),
]


def timed(api: Api, n: int) -> tuple[int, object, float]:
    """Place order `n` over HTTP; return the status, the body and the seconds it took."""
    started = time.monotonic()
    status, body = api.call("POST", "/api/orders/", order(n))
    return status, body, time.monotonic() - started


def order(n: int) -> dict:
    return {
        "currency": "EUR",
        "items": [{"sku": "B-1", "quantity": n % 3 + 1, "unit_price": "1.00"}],
    }


def test_commands_succeed_while_the_broker_is_down_and_converge_once_it_is_back(
    alice,
    private_redis,  # noqa: F811  (the fixture imported above)
    tmp_path,
):
    """Fault: the broker (Redis, shared by web, worker and beat) is SIGKILLed; 100 commands
    are sent over HTTP by 4 concurrent clients while it is down; then it is started again
    on the same port.

    Must hold: every command answers 2xx, promptly (no hang on the broker); nothing is
    projected while it is down; once it is back the sweep projects all of them (within
    a bound of a few sweep periods), exactly once, and the model equals a rebuild; the
    worker and beat processes started before the outage are still the ones running.
    """
    broker = private_redis.url(0)
    env = {"CELERY_BROKER_URL": broker, "ORDINAL_SWEEP_SECONDS": str(SWEEP_SECONDS)}
    logs = {name: tmp_path / f"{name}.log" for name in ("web", "worker", "beat")}
    port = free_port()
    api = Api(port, Token.objects.create(user=alice).key)
    web = start_web(logs["web"], port, **env)
    worker = start_worker(logs["worker"], concurrency=3, **env)
    beat = start_beat(logs["beat"], tmp_path / "beat-schedule", **env)
    # No supervisor: either exiting on its own fails the test.
    children = {logs["worker"]: worker, logs["beat"]: beat}
    try:
        assert api.call("POST", "/api/orders/", order(0))[0] == 201
        wait_until(converged, "the stack projecting a first command", logs["worker"], 60)

        private_redis.stop(signal.SIGKILL)
        with ThreadPoolExecutor(CLIENTS) as clients:
            answers = list(clients.map(lambda n: timed(api, n), range(1, COMMANDS + 1)))
        statuses = [status for status, _, _ in answers]
        latencies = [seconds for _, _, seconds in answers]
        assert all(200 <= status < 300 for status in statuses), answers
        # The events are committed; nothing could carry them to the read model.
        assert not converged()

        private_redis.start()  # same port
        back = time.monotonic()
        wait_alive(children, converged, "the sweep after the broker's return", CONVERGE_SECONDS)
        seconds = time.monotonic() - back
    finally:
        stop(beat)
        stop(worker)
        stop(web)

    assert statuses == [201] * COMMANDS
    assert max(latencies) < HANG_SECONDS, f"a command hung on the broker: {max(latencies):.1f} s"
    assert "Could not enqueue the projection catch-up" in logs["web"].read_text()
    summary = CustomerSummary.objects.using("read").get(customer_id="alice")
    assert (summary.orders_count, summary.open_orders) == (COMMANDS + 1, COMMANDS + 1)
    units = sum(n % 3 + 1 for n in range(COMMANDS + 1))
    assert ProductSales.objects.using("read").get(sku="B-1").units_sold == units
    assert_same_as_a_rebuild()
    print(
        f"\n{COMMANDS} commands ({CLIENTS} clients) with the broker down: all 201; latency max "
        f"{max(latencies) * 1000:.0f} ms, median {statistics.median(latencies) * 1000:.0f} ms; "
        f"converged {seconds:.1f} s after the broker restarted (sweep every {SWEEP_SECONDS} s); "
        "worker and beat never exited"
    )
