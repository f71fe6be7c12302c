"""Read replicas: which database a query reads, in one process.

Here a "replica" is a second connection to the test read database (it sees what the read
database holds at once), or an address where nothing listens (a replica that is down).
That is enough to see which connection each statement runs on. What a real streaming
replica adds, lag and all, is in tests/reliability/test_replica.py.
"""

import contextlib
import copy
import json
import subprocess
import time
import uuid

import pytest
from django.apps import apps
from django.db import OperationalError, connections, router
from django.db.utils import load_backend
from django.test.utils import CaptureQueriesContext

from eventlog import store
from orders_read.bus import QueryBus
from orders_read.queries import GetOrder, Viewer
from orders_read.replicas import PRIMARY, REPLICAS, query_db
from tests.conftest import postgres_only
from tests.processes import BASE_DIR, PYTHON, free_port

from .admin_helpers import ORDERS, logged_in
from .conftest import BOTH_DATABASES, catch_up, line, place

# Committed rows: a replica's connection must see what the test wrote.
on_the_databases = pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)


@pytest.fixture
def replicas(settings):
    """Add read replicas to the test: `add("live", "down", ...)` returns their aliases."""
    added: list[str] = []

    def add(*kinds: str) -> list[str]:
        for kind in kinds:
            alias = f"read_replica_{len(added) + 1}"
            config = copy.deepcopy(connections[PRIMARY].settings_dict)
            if kind == "down":
                config["PORT"] = free_port()  # nothing listens there: connections are refused
            # Made here, not declared in settings: Django's test case refuses connections
            # to a declared alias the test did not name, and only known ones may be named.
            connections[alias] = load_backend(config["ENGINE"]).DatabaseWrapper(config, alias)
            added.append(alias)
        settings.ORDINAL_READ_REPLICAS = list(added)
        return added[-len(kinds) :]

    REPLICAS.reset()
    yield add
    REPLICAS.reset()
    for alias in added:
        connections[alias].close()
        del connections[alias]


def connects(monkeypatch, alias: str) -> list[int]:
    """Count the connections opened (or tried) to `alias` from now on."""
    opened: list[int] = []
    connection = connections[alias]
    connect = connection.get_new_connection

    def counted(params):
        opened.append(1)
        return connect(params)

    monkeypatch.setattr(connection, "get_new_connection", counted)
    return opened


def tables_read(captured: CaptureQueriesContext) -> set[str]:
    """The read-model tables the captured statements named."""
    names = ("checkpoint", "orderview", "parkedstream", "customersummary")
    return {name for name in names for q in captured if f"orders_read_{name}" in q["sql"]}


@pytest.fixture
def order(no_nudge):
    """An order, projected; returns (its id, the log position of its placing)."""
    order_id = place("alice", line("A-1"))
    catch_up()
    return order_id, store.head_position()


@postgres_only
@on_the_databases
def test_a_query_and_its_min_position_wait_read_the_replica_only(alice_client, replicas, order):
    (replica,) = replicas("live")
    order_id, position = order
    with (
        CaptureQueriesContext(connections[replica]) as on_replica,
        CaptureQueriesContext(connections[PRIMARY]) as on_primary,
    ):
        response = alice_client.get(f"/api/orders/{order_id}/?min_position={position}")
    assert response.status_code == 200, response.content
    assert response["X-Read-Position"] == str(position)
    # The checkpoints it waited on, the row it answered and the parking it looked up.
    assert tables_read(on_replica) == {"checkpoint", "orderview", "parkedstream"}
    assert list(on_primary) == []


@postgres_only
@on_the_databases
def test_the_replicas_take_turns(alice_client, replicas, order):
    aliases = replicas("live", "live")
    order_id, _ = order
    captured = {alias: CaptureQueriesContext(connections[alias]) for alias in aliases}
    with contextlib.ExitStack() as stack:
        for context in captured.values():
            stack.enter_context(context)
        for _ in range(4):
            assert alice_client.get(f"/api/orders/{order_id}/").status_code == 200
    answered = {
        alias: sum("orders_read_orderview" in q["sql"] for q in c) for alias, c in captured.items()
    }
    assert answered == {aliases[0]: 2, aliases[1]: 2}


@postgres_only
@on_the_databases
def test_a_replica_that_refuses_connections_is_skipped_a_while(
    alice_client, replicas, order, monkeypatch, settings
):
    settings.ORDINAL_READ_REPLICA_RETRY_SECONDS = 0.5
    (down,) = replicas("down")
    tried = connects(monkeypatch, down)
    order_id, position = order

    # The read database answers instead, min_position checked against its own checkpoints.
    response = alice_client.get(f"/api/orders/{order_id}/?min_position={position}")
    assert response.status_code == 200, response.content
    assert response["X-Read-Position"] == str(position)
    assert (len(tried), REPLICAS.left_alone()) == (1, [down])

    assert alice_client.get(f"/api/orders/{order_id}/").status_code == 200
    assert len(tried) == 1, "a replica that just failed was asked again"

    time.sleep(0.6)
    assert alice_client.get(f"/api/orders/{order_id}/").status_code == 200
    assert len(tried) == 2, "the replica was not asked again once its time was up"


@postgres_only
@on_the_databases
def test_the_next_replica_answers_for_one_that_is_down(alice_client, replicas, order):
    down, live = replicas("down", "live")
    order_id, _ = order
    with (
        CaptureQueriesContext(connections[live]) as on_live,
        CaptureQueriesContext(connections[PRIMARY]) as on_primary,
    ):
        for _ in range(3):
            assert alice_client.get(f"/api/orders/{order_id}/").status_code == 200
    assert REPLICAS.left_alone() == [down]
    assert sum("orders_read_orderview" in q["sql"] for q in on_live) == 3
    assert list(on_primary) == [], "the read database answered while a replica was up"


@postgres_only
@on_the_databases
def ask_with_a_failing_handler(replica_dies: bool):
    """A query whose handler breaks its replica's connection, or raises an error of its own."""

    def handler(query):
        if query_db() == PRIMARY:
            return "the read database answered"
        if replica_dies:  # as when the replica is stopped mid-query
            with connections[query_db()].cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        raise OperationalError("not the replica's connection: another database's")

    bus = QueryBus({GetOrder: (handler, ())}, wait_seconds=0)
    return bus.dispatch(GetOrder(viewer=Viewer("alice"), order_id=uuid.uuid4()))


@postgres_only
@on_the_databases
def test_a_replica_that_breaks_mid_query_is_left_and_the_query_asked_again(replicas):
    (replica,) = replicas("live")
    assert ask_with_a_failing_handler(replica_dies=True).value == "the read database answered"
    assert REPLICAS.left_alone() == [replica]


@postgres_only
@on_the_databases
def test_an_error_on_another_connection_is_not_blamed_on_the_replica(replicas):
    replicas("live")
    with pytest.raises(OperationalError, match="another database's"):
        ask_with_a_failing_handler(replica_dies=False)
    assert REPLICAS.left_alone() == []


@postgres_only
@on_the_databases
def test_projections_and_the_admin_never_read_a_replica(
    client, staff, replicas, monkeypatch, no_nudge
):
    (down,) = replicas("down")
    tried = connects(monkeypatch, down)
    order_id = place("alice", line("A-1"))
    catch_up()
    browser = logged_in(client, staff)
    page = browser.get(f"{ORDERS}?min_position={store.head_position()}")
    assert page.status_code == 200 and str(order_id) in page.content.decode()
    assert tried == []


@postgres_only
@on_the_databases
def test_readyz_reports_each_replica(client, replicas):
    # That a replica down leaves the process ready: tests/reliability/test_replica.py.
    live, down = replicas("live", "down")
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["replicas"] == {live: "ok", down: "error: OperationalError"}


def test_no_migration_ever_runs_on_a_replica():
    labels = [config.label for config in apps.get_app_configs()]
    assert [label for label in labels if router.allow_migrate("read_replica_1", label)] == []
    assert router.allow_migrate("read", "orders_read")  # the read database still gets its own


def settings_with(**environment: str) -> subprocess.CompletedProcess:
    """Load the settings in a child process with this environment; print the replicas'."""
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'replicas': s.ORDINAL_READ_REPLICAS, "
        "'databases': {a: s.DATABASES[a] for a in s.ORDINAL_READ_REPLICAS}}))"
    )
    return subprocess.run(
        [PYTHON, "-c", script],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_each_replica_url_is_an_alias_that_tests_point_at_the_read_database(tmp_path):
    loaded = settings_with(
        ORDINAL_VAR_DIR=str(tmp_path),
        READ_DATABASE_URL="postgres://app@primary:5432/ordinal_read",
        READ_REPLICA_URLS="postgres://app@replica-a:5432/ordinal_read,"
        "postgres://app@replica-b:5433/ordinal_read?connect_timeout=5",
    )
    assert loaded.returncode == 0, loaded.stderr
    found = json.loads(loaded.stdout)
    assert found["replicas"] == ["read_replica_1", "read_replica_2"]
    first, second = (found["databases"][alias] for alias in found["replicas"])
    assert (first["HOST"], second["HOST"], second["PORT"]) == ("replica-a", "replica-b", 5433)
    assert first["TEST"]["MIRROR"] == "read"
    assert (first["OPTIONS"]["connect_timeout"], second["OPTIONS"]["connect_timeout"]) == (2, 5)


@pytest.mark.parametrize(
    "read, replica",
    [
        ("", "postgres://app@replica:5432/ordinal_read"),  # the embedded read database
        ("postgres://app@primary:5432/ordinal_read", "sqlite:////tmp/replica.sqlite3"),
    ],
)
def test_replicas_of_anything_but_postgresql_are_refused_at_start(tmp_path, read, replica):
    environment = {"ORDINAL_VAR_DIR": str(tmp_path), "READ_REPLICA_URLS": replica}
    if read:
        environment["READ_DATABASE_URL"] = read
    loaded = settings_with(**environment)
    assert loaded.returncode != 0
    assert "must be PostgreSQL URLs" in loaded.stderr
