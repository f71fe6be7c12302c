"""The pieces of the log setup: one-line JSON, routine work at DEBUG, ids where Celery logs."""

import json
import logging
import os
import subprocess
import sys

import pytest
from billiard.einfo import ExceptionInfo
from billiard.exceptions import WorkerLostError
from celery.contrib.testing.mocks import TaskMessage

from config.celery_app import app
from config.celery_logging import CORRELATION_HEADER, CorrelatedRequest, correlation_id_sent
from config.logging import (
    CorrelationIdFilter,
    JsonFormatter,
    RoutineWorkFilter,
    correlation_id,
    working_on,
)
from orders_read import tasks

from ..processes import BASE_DIR, PYTHON


def record(name: str = "celery.beat", level: int = logging.INFO, **extra) -> logging.LogRecord:
    made = logging.LogRecord(name, level, __file__, 1, "Sending %s", ("the sweep",), None)
    made.__dict__.update(extra)
    return made


def test_a_traceback_stays_on_its_line_in_json():
    try:
        raise ValueError("first line\nsecond line")
    except ValueError:
        failed = record("orders_read.tasks", logging.ERROR, exc_info=sys.exc_info())
    CorrelationIdFilter().filter(failed)

    line = JsonFormatter().format(failed)

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["correlation_id"] == "-"
    assert entry["exception"].startswith("Traceback (most recent call last):\n")
    assert entry["exception"].endswith("ValueError: first line\nsecond line")


def test_celerys_info_lines_about_routine_work_are_debug():
    routine, beat = RoutineWorkFilter(), logging.getLogger("celery.beat")
    was = beat.level
    try:
        with working_on(routine=True):
            beat.setLevel(logging.INFO)
            shown_at_info = routine.filter(demoted := record())
            beat.setLevel(logging.DEBUG)
            shown_at_debug = routine.filter(record())
    finally:
        beat.setLevel(was)
    assert (demoted.levelno, demoted.levelname) == (logging.DEBUG, "DEBUG")
    assert not shown_at_info and shown_at_debug


@pytest.mark.parametrize(
    "name, level, routine",
    [
        ("celery.beat", logging.INFO, False),  # not routine: a command's nudge, say
        ("celery.beat", logging.WARNING, True),  # trouble is never routine
        ("orders_read.tasks", logging.INFO, True),  # the project's own lines, as written
    ],
)
def test_other_lines_keep_their_level(name, level, routine):
    with working_on(routine=routine):
        kept = record(name, level)
        assert RoutineWorkFilter().filter(kept)
    assert kept.levelno == level


def test_a_published_task_carries_its_correlation_id_in_the_headers():
    headers = {}
    correlation_id_sent(body=((), {"correlation_id": "given"}, {}), headers=headers)
    assert headers[CORRELATION_HEADER] == "given"
    with working_on("current"):
        correlation_id_sent(body=((), {}, {}), headers=headers)
    assert headers[CORRELATION_HEADER] == "current"
    bare = {}
    correlation_id_sent(body=((), {"correlation_id": "-"}, {}), headers=bare)
    assert bare == {}  # the worker gives it a fresh one


def test_the_workers_lines_about_a_time_limit_or_a_lost_child_carry_the_tasks_id(caplog):
    caplog.handler.addFilter(CorrelationIdFilter())
    task = app.tasks[tasks.projection_catch_up.name]
    message = TaskMessage(task.name, args=["order_view"], **{CORRELATION_HEADER: "lost-1"})
    request = CorrelatedRequest(message, app=app, task=task)
    try:
        raise WorkerLostError("Worker exited prematurely: signal 9 (SIGKILL).")
    except WorkerLostError:
        lost = ExceptionInfo()

    request.on_timeout(True, 5)
    request.on_failure(lost)

    lines = [r for r in caplog.records if r.name == "celery.worker.request"]
    assert [line.getMessage()[:19] for line in lines] == [
        "Soft time limit (5s",
        "Task handler raised",
    ]
    assert {line.correlation_id for line in lines} == {"lost-1"}
    assert correlation_id.get() == "-"


@pytest.mark.django_db(databases=["default", "read"])
def test_django_logs_a_4xx_under_the_requests_id_after_the_view(anon_client, caplog):
    caplog.handler.addFilter(CorrelationIdFilter())
    response = anon_client.get("/api/orders/", headers={"X-Request-ID": "late-1"})
    assert response.status_code == 401
    (line,) = [r for r in caplog.records if r.name == "django.request"]
    assert line.getMessage() == "Unauthorized: /api/orders/"
    assert line.correlation_id == "late-1"
    assert correlation_id.get() == "-"  # the response closed: the request's id ended


def test_a_python_warning_is_one_json_record(tmp_path):
    script = "import django, warnings; django.setup(); warnings.warn('careful\\nnow')"
    done = subprocess.run(
        [PYTHON, "-c", script],
        cwd=BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.splitlines()
    entry = json.loads(line)
    assert (entry["logger"], entry["level"]) == ("py.warnings", "WARNING")
    assert "UserWarning: careful\nnow" in entry["message"]
