"""Shared fixtures: users of each kind, API clients, and the database backend in use."""

import pytest
from django.core.cache import cache
from django.db import connections
from django.db.backends.postgresql.operations import DatabaseOperations
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

# The event log's trigger that refuses TRUNCATE (eventlog/migrations/0003_refuse_truncate.py).
TRUNCATE_TRIGGER = ("eventlog_event", "eventlog_event_no_truncate")


def on_postgres() -> bool:
    return connections["default"].vendor == "postgresql"


postgres_only = pytest.mark.skipif(
    not on_postgres(), reason="needs PostgreSQL: set DATABASE_URL and READ_DATABASE_URL"
)


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_truncate_trigger():
    """Let the test runner empty the event log between transactional tests, on PostgreSQL.

    Its flush is one TRUNCATE, which the log's trigger refuses (as it must in
    production). The flush runs in one transaction, so disabling the trigger just around
    it never shows another session an unguarded table.
    """
    table, trigger = TRUNCATE_TRIGGER
    sql_flush = DatabaseOperations.sql_flush

    def flush_with_the_trigger_off(self, style, tables, **options) -> list[str]:
        statements = sql_flush(self, style, tables, **options)
        if table not in tables:
            return statements
        alter = f"ALTER TABLE {table} {{}} TRIGGER {trigger}"
        return [alter.format("DISABLE"), *statements, alter.format("ENABLE")]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", flush_with_the_trigger_off)
        yield


@pytest.fixture
def eager():
    """Run Celery tasks in-process, right after the command commits, even with a broker."""
    from config.celery_app import app

    was = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was


@pytest.fixture(autouse=True)
def _projections_built(request):
    """Start every test that uses the read database as a deployed app does: each projection
    built (on the empty log, that is a checkpoint at 0), so events wait for catch-up, not
    for a first build. Tests about building a projection delete its checkpoint first.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None or "read" not in (marker.kwargs.get("databases") or ()):
        return
    request.getfixturevalue("db")  # the marker's databases, as the test asked for them
    from eventlog import store
    from orders_read.models import Checkpoint
    from orders_read.projectors import PROJECTORS

    if store.head_position() == 0:
        for name in PROJECTORS:
            Checkpoint.objects.using("read").get_or_create(name=name)


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Start each test with no throttle counts and no failed-login counters."""
    cache.clear()


@pytest.fixture(autouse=True)
def _test_client_login_with_a_request(monkeypatch):
    """Give the test client's login() a request: it authenticates without one, and axes
    refuses a login it cannot count (every real door passes its request)."""
    login = Client.login

    def login_with_a_request(self, **credentials):
        credentials.setdefault("request", RequestFactory().post("/admin/login/"))
        return login(self, **credentials)

    monkeypatch.setattr(Client, "login", login_with_a_request)


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, *, staff: bool = False, password: str = "pw-secret-1"):
        return django_user_model.objects.create_user(
            username=username, password=password, is_staff=staff
        )

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def carol(make_user):
    """A customer with an account and no client: staff order for her."""
    return make_user("carol")


@pytest.fixture
def staff(make_user):
    return make_user("stella", staff=True)


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def anon_client():
    return client_for()


@pytest.fixture
def alice_client(alice):
    return client_for(alice)


@pytest.fixture
def bob_client(bob):
    return client_for(bob)


@pytest.fixture
def staff_client(staff):
    return client_for(staff)
