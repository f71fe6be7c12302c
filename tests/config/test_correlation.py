"""The correlation id of a request follows its work into the events and the Celery tasks."""

import logging
import uuid

import pytest

from config.logging import CorrelationIdFilter, correlation_id
from eventlog.models import Event
from orders_read import runner, tasks

from ..orders_read.conftest import line, place

BOTH_DATABASES = ["default", "read"]
ORDER = {"currency": "EUR", "items": [{"sku": "A-1", "quantity": 1, "unit_price": "2.00"}]}


@pytest.fixture
def task_records(caplog):
    """Capture the tasks' log records, stamped as the console handler stamps them."""
    caplog.set_level(logging.DEBUG, logger="orders_read.tasks")
    caplog.handler.addFilter(CorrelationIdFilter())
    return lambda: [r for r in caplog.records if r.name == "orders_read.tasks"]


# Transactional, so the command's on_commit nudge runs inside the request.
@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_a_commands_request_id_follows_it_into_the_catch_up_tasks(
    alice_client, eager, task_records
):
    response = alice_client.post(
        "/api/orders/", ORDER, format="json", headers={"X-Request-ID": "abc-123"}
    )
    assert response.status_code == 201, response.content

    records = task_records()
    caught_up = {r.args[0] for r in records if r.msg.startswith("Projection")}
    assert caught_up == set(runner.projection_names())
    assert {r.correlation_id for r in records} == {"abc-123"}
    (event,) = Event.objects.filter(stream_id=response.json()["order_id"])
    assert event.metadata["correlation_id"] == "abc-123"
    assert correlation_id.get() == "-"  # the tasks left no id behind them


@pytest.mark.django_db(databases=BOTH_DATABASES)
def test_the_sweep_runs_under_a_fresh_id_its_tasks_share(eager, task_records):
    # Outside a committed transaction commands send no nudge: the sweep has work each time.
    place("alice", line("A-1"))
    tasks.projections_catch_up.delay()  # as beat sends it: no correlation id
    place("alice", line("A-2"))
    tasks.projections_catch_up.delay()

    ids = [r.correlation_id for r in task_records()]
    per_sweep = 1 + len(runner.projection_names())  # its own line, one per projection
    assert len(ids) == 2 * per_sweep
    assert len(set(ids)) == 2 and ids[:per_sweep] == [ids[0]] * per_sweep
    for given in set(ids):
        uuid.UUID(given)


def test_the_nudge_carries_the_current_id(monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.projections_catch_up, "delay", lambda **kw: sent.append(kw))
    token = correlation_id.set("req-9")
    try:
        tasks.enqueue_catch_up(41)
    finally:
        correlation_id.reset(token)
    assert sent == [{"correlation_id": "req-9", "position": 41}]
