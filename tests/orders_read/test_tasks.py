"""The Celery side: task options, the beat sweep, transient retries and a safe nudge."""

import pytest
from django.conf import settings
from django.db import OperationalError

from config.celery_app import app
from eventlog import store
from orders_read import runner, tasks

from .conftest import BOTH_DATABASES, line, place, positions

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


def test_tasks_are_json_only_and_acked_late():
    assert app.conf.accept_content == ["json"] and app.conf.task_serializer == "json"
    for task in (tasks.projection_catch_up, tasks.projections_catch_up):
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
    (sweep,) = settings.CELERY_BEAT_SCHEDULE.values()
    assert sweep["task"] == tasks.projections_catch_up.name
    assert 0 < sweep["schedule"] <= 10


def test_the_sweep_catches_every_projection_up(eager):
    place("alice", line("A-1"))
    tasks.projections_catch_up.delay()
    assert positions() == {name: store.head_position() for name in runner.projection_names()}


def test_a_failed_enqueue_is_logged_not_raised(monkeypatch, caplog):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.projections_catch_up, "delay", broker_down)
    tasks.enqueue_catch_up()
    assert "ConnectionError: broker unreachable" in caplog.text
    assert "the sweep will catch up" in caplog.text
