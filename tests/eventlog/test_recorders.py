"""Choosing the recorder: by the write database's backend, refusing what none supports."""

import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from eventlog import store
from eventlog.recorders import recorder_for
from eventlog.recorders.postgresql import PostgreSQLRecorder
from eventlog.recorders.sqlite import SQLiteRecorder
from eventlog.store import WRITE_DB
from tests.conftest import on_postgres


def test_the_write_database_gets_the_recorder_of_its_backend():
    recorder = recorder_for(WRITE_DB)
    assert type(recorder) is (PostgreSQLRecorder if on_postgres() else SQLiteRecorder)
    assert recorder.alias == WRITE_DB


def test_a_backend_without_a_recorder_is_refused(monkeypatch):
    monkeypatch.setattr(connections[WRITE_DB], "vendor", "oracle")
    with pytest.raises(ImproperlyConfigured, match="no recorder for oracle"):
        recorder_for(WRITE_DB)


def test_the_postgresql_recorder_refuses_server_side_binding(monkeypatch):
    """Its one-round-trip "lock; insert" needs Django's default client-side binding."""
    options = connections[WRITE_DB].settings_dict.setdefault("OPTIONS", {})
    PostgreSQLRecorder(WRITE_DB)  # the default: client-side binding
    monkeypatch.setitem(options, "server_side_binding", True)
    with pytest.raises(ImproperlyConfigured, match="client-side binding"):
        PostgreSQLRecorder(WRITE_DB)


@pytest.mark.skipif(not on_postgres(), reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db(transaction=True, databases=["default"])
@pytest.mark.parametrize("enabled", [True, False])
def test_the_logs_statements_are_prepared_unless_turned_off(settings, enabled):
    """Prepared statements for the log's own cursors; off for poolers that cannot keep them."""
    settings.ORDINAL_PREPARED_STATEMENTS = enabled
    connection = connections["default"]
    connection.close()  # a new session, as Django opens it: nothing prepared yet
    for _ in range(7):
        store.append(
            stream_type="order",
            stream_id=uuid.uuid4(),
            expected_version=0,
            events=[store.NewEvent("E", {})],
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        prepared = cursor.fetchone()[0]
    assert (prepared > 0) == enabled
    assert (connection.connection.prepare_threshold is not None) == enabled
