"""The Celery side: task options, the beat sweep, transient retries and a safe nudge."""

import logging
from datetime import timedelta
from uuid import uuid4

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from config.celery_app import app
from eventlog import store
from orders_read import rebuilds, runner, tasks
from orders_read.models import ParkedStream, Rebuild

from .conftest import BOTH_DATABASES, catch_up, line, place, positions

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


def test_tasks_are_json_only_and_acked_late():
    assert app.conf.accept_content == ["json"] and app.conf.task_serializer == "json"
    for task in (
        tasks.projection_catch_up,
        tasks.projections_catch_up,
        tasks.projection_parked_retry,
        tasks.projection_rebuild_run,
    ):
        assert task.acks_late and task.reject_on_worker_lost


def test_transient_database_errors_are_retried_a_bounded_number_of_times(monkeypatch):
    task = tasks.projection_catch_up
    assert 0 < task.max_retries <= 10

    def database_restarting(name, **kwargs):
        raise OperationalError("the database system is starting up")

    retried = {}

    def retry(**kwargs):
        retried.update(kwargs)
        return RuntimeError("retrying")

    monkeypatch.setattr(runner, "projection_catch_up", database_restarting)
    monkeypatch.setattr(task, "retry", retry)
    with pytest.raises(RuntimeError, match="retrying"):
        task.run("order_view")
    assert isinstance(retried["exc"], OperationalError)
    assert 0 <= retried["countdown"] <= 60


def test_an_eager_task_never_retries_in_the_request(monkeypatch, eager):
    calls = []

    def database_restarting(name, **kwargs):
        calls.append(name)
        raise OperationalError("the database system is starting up")

    monkeypatch.setattr(runner, "projection_catch_up", database_restarting)
    tasks.projection_catch_up.delay("order_view")
    assert calls == ["order_view"]


def test_beat_sweeps_every_projection_every_few_seconds():
    sweep = settings.CELERY_BEAT_SCHEDULE["projections-sweep"]
    assert sweep["task"] == tasks.projections_catch_up.name
    assert 0 < sweep["schedule"] <= 10


def test_the_sweep_catches_every_projection_up(eager):
    place("alice", line("A-1"))
    tasks.projections_catch_up.delay()
    assert positions() == {name: store.head_position() for name in runner.projection_names()}


@pytest.fixture
def broker_down(monkeypatch):
    """Every publish fails, as with the broker unreachable; count the attempts."""
    attempts = []

    def publish(*args, **kwargs):
        attempts.append(kwargs)
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks, "_broker_down_until", 0.0)  # restored after the test
    monkeypatch.setattr(tasks.projections_catch_up, "delay", publish)
    return attempts


def test_a_failed_enqueue_is_logged_not_raised(broker_down, caplog):
    tasks.enqueue_catch_up(7)
    assert "ConnectionError: broker unreachable" in caplog.text
    assert "the sweep will catch up" in caplog.text


def test_after_a_failed_publish_commands_skip_the_broker_for_a_while(broker_down, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(tasks.time, "monotonic", lambda: clock[0])
    tasks.enqueue_catch_up(1)
    tasks.enqueue_catch_up(2)  # within the back-off: no publish, no retry cost
    assert len(broker_down) == 1
    clock[0] += tasks.PUBLISH_BACKOFF_SECONDS + 0.1
    tasks.enqueue_catch_up(3)
    assert [attempt["position"] for attempt in broker_down] == [1, 3]


def test_a_nudge_catches_the_projections_up_to_its_position_in_one_task(monkeypatch):
    place("alice", line("A-1"))
    fanned_out = []
    monkeypatch.setattr(tasks.projection_catch_up, "delay", lambda *a, **k: fanned_out.append(a))
    tasks.projections_catch_up.run(position=store.head_position())
    assert positions() == {name: store.head_position() for name in runner.projection_names()}
    assert fanned_out == []


def test_a_nudge_skips_projections_already_past_its_position(monkeypatch):
    first = place("alice", line("A-1"))
    runner.projection_catch_up("order_view")
    place("alice", line("A-2"))  # order_view is past `first`, not past this one
    caught_up = []
    monkeypatch.setattr(runner, "projection_catch_up", lambda name: caught_up.append(name))
    tasks.projections_catch_up.run(position=store.read_stream(first)[-1].position)
    assert caught_up == [name for name in runner.projection_names() if name != "order_view"]


def test_the_sweep_sends_work_only_where_there_is_some(monkeypatch):
    place("alice", line("A-1"))  # no nudge outside a committed transaction: all behind
    for name in runner.projection_names():
        if name != "customer_summary":
            runner.projection_catch_up(name)
    now = timezone.now()
    parked = {"stream_id": uuid4(), "position": 1, "version": 1, "event_type": "OrderPlaced"}
    for projection, retry_at in [
        ("product_sales", now - timedelta(seconds=1)),  # due
        ("order_view", now + timedelta(minutes=1)),  # waiting for its backoff
    ]:
        ParkedStream.objects.using("read").create(
            projection=projection, error="E", parked_at=now, retry_at=retry_at, **parked
        )
    stalled = rebuilds.rebuild_request("order_view")
    Rebuild.objects.using("read").filter(pk=stalled.pk).update(
        status="running",
        updated_at=now - timedelta(seconds=settings.ORDINAL_REBUILD_STALE_SECONDS + 1),
    )
    rebuilds.rebuild_request("product_sales")  # queued just now: its own task runs it
    sent = []
    for task in ("projection_catch_up", "projection_parked_retry", "projection_rebuild_run"):
        monkeypatch.setattr(
            getattr(tasks, task), "delay", lambda arg, task=task, **kw: sent.append((task, arg))
        )
    tasks.projections_catch_up.run()
    assert sent == [
        ("projection_catch_up", "customer_summary"),
        ("projection_parked_retry", "product_sales"),
        ("projection_rebuild_run", stalled.pk),
    ]


def test_the_sweep_logs_at_debug_with_nothing_to_do_and_at_info_when_it_sends_work(
    caplog, monkeypatch
):
    caplog.set_level(logging.DEBUG, logger="orders_read.tasks")
    monkeypatch.setattr(tasks.projection_catch_up, "delay", lambda name, **kw: None)
    place("alice", line("A-1"))
    tasks.projections_catch_up.run()
    catch_up()
    tasks.projections_catch_up.run()
    sweep = [(r.levelname, r.getMessage()) for r in caplog.records if "Sweep" in r.getMessage()]
    assert sweep == [
        (
            "INFO",
            f"Sweep: {', '.join(sorted(runner.projection_names()))} behind the head of the log; "
            "catching up.",
        ),
        ("DEBUG", "Sweep: every projection is at the head of the log."),
    ]
