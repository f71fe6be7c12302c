"""A real streaming replica of the read database: queries read it, read-your-writes holds
with replication lag, and the app keeps answering when the replica stops.

The stack (tests/reliability/replica_stack.py) runs on private servers: a PostgreSQL
holding the write and the read database, a hot standby of it, and gunicorn with
READ_REPLICA_URLS naming the standby. Commands are projected in the web process before
they answer, so the read database is always current: whatever is behind is the replica.
It does not use the suite's own databases.
"""

import threading
import time

import psycopg
import pytest

from tests.conftest import postgres_only

from .replica_stack import Client, ReplicaStack, timed

pytestmark = postgres_only

WAIT_SECONDS = 3.0  # the app's ORDINAL_READ_WAIT_SECONDS
RETRY_SECONDS = 1.0  # the app's ORDINAL_READ_REPLICA_RETRY_SECONDS
BOUND = 60  # for a loaded 2-core machine; never a speed assertion
ORDER_ROWS = "SELECT count(*) FROM orders_read_orderview WHERE order_id = %s"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("replica")
    with ReplicaStack(workdir, wait_seconds=WAIT_SECONDS, retry_seconds=RETRY_SECONDS) as stack:
        stack.port = stack.serve(replicas=True)
        # A first order builds the projections; the replica then has their checkpoints.
        order_id, _ = Client(stack.port, stack.token).place_order()
        eventually(
            lambda: stack.rows(stack.replica_url, ORDER_ROWS, (order_id,)) == [(1,)], "replay"
        )
        yield stack


@pytest.fixture
def api(stack):
    """The customer's client; afterwards the replica is up, replaying, with no delay."""
    yield Client(stack.port, stack.token)
    try:
        stack.replica.execute("SELECT 1")
    except psycopg.OperationalError:
        stack.replica.start()
    stack.replay(paused=False)
    stack.apply_delay("0")


def eventually(condition, what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {BOUND} s"
        time.sleep(0.1)


def test_queries_answer_what_the_replica_holds(stack, api):
    stack.replay(paused=True)
    order_id, position = api.place_order()
    assert stack.rows(stack.read_url, ORDER_ROWS, (order_id,)) == [(1,)]
    assert stack.rows(stack.replica_url, ORDER_ROWS, (order_id,)) == [(0,)]

    status, headers, _ = api.get(f"/api/orders/{order_id}/")
    assert status == 404, "the answer did not come from the replica, which lacks the order"
    assert int(headers["x-read-position"]) < position

    stack.replay(paused=False)
    eventually(lambda: api.get(f"/api/orders/{order_id}/")[0] == 200, "the replica's answer")


def test_min_position_waits_for_the_replicas_own_checkpoint(stack, api):
    stack.replay(paused=True)
    order_id, position = api.place_order()
    wanted = f"/api/orders/{order_id}/?min_position={position}"

    # The read database has the order; the replica's checkpoint stays behind it.
    (status, headers, body), took = timed(lambda: api.get(wanted))
    assert status == 503, body
    assert body["type"].endswith(":read-model-behind")
    assert int(headers["x-read-position"]) < position
    assert took >= WAIT_SECONDS * 0.9, "it did not wait for the replica"

    # Replay resumes while the query waits: the same query answers, with the order.
    threading.Timer(1.0, stack.replay, kwargs={"paused": False}).start()
    (status, headers, body), took = timed(lambda: api.get(wanted))
    assert status == 200, body
    assert body["order_id"] == order_id
    assert int(headers["x-read-position"]) >= position
    assert took >= 0.9, "it answered before the replica had replayed the order"


def test_read_your_writes_holds_with_replication_lag(stack, api):
    stack.apply_delay("500ms")  # the replica applies each commit half a second late
    stale = 0
    for _ in range(8):
        order_id, position = api.place_order()
        stale += api.get(f"/api/orders/{order_id}/")[0] == 404
        status, headers, body = api.get(f"/api/orders/{order_id}/?min_position={position}")
        assert status == 200, body
        assert body["order_id"] == order_id
        assert int(headers["x-read-position"]) >= position
    assert stale > 0, "no lag was seen: the replica did not answer the reads"


def test_the_app_keeps_answering_when_the_replica_stops(stack, api):
    # Stopped while a query waits on it: the read database answers that very query.
    stack.replay(paused=True)
    order_id, position = api.place_order()
    answers = []
    waiting = threading.Thread(
        target=lambda: answers.append(
            Client(stack.port, stack.token).get(f"/api/orders/{order_id}/?min_position={position}")
        )
    )
    waiting.start()
    time.sleep(1.0)  # within its wait, which the paused replica cannot end
    stack.replica.stop("immediate")
    waiting.join(BOUND)
    status, _, body = answers[0]
    assert status == 200, body
    assert body["order_id"] == order_id

    # While it is down, queries read the read database, fresh.
    for _ in range(3):
        order_id, position = api.place_order()
        status, _, body = api.get(f"/api/orders/{order_id}/?min_position={position}")
        assert (status, body["order_id"]) == (200, order_id)
    status, _, ready = api.get("/readyz")
    assert status == 200, ready
    assert ready["replicas"] == {"read_replica_1": "error: OperationalError"}

    # Back up, it is read again once its time out is over.
    stack.replica.start()
    stack.replay(paused=True)
    order_id, _ = api.place_order()
    eventually(lambda: api.get(f"/api/orders/{order_id}/")[0] == 404, "reading the replica again")
