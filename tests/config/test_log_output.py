"""Real log output of gunicorn, a Celery worker and beat: one JSON record per line, each
with the correlation id of its work, nothing printed twice, and an idle stack quiet at INFO.
"""

import json
import os
import re
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from config.celery_app import app
from eventlog import store
from orders_read import runner

from ..conftest import postgres_only
from ..orders_read.conftest import BOTH_DATABASES, positions
from ..processes import (
    Api,
    free_port,
    start_beat,
    start_web,
    start_worker,
    stop,
    wait_for_in_log,
    wait_until,
)

pytestmark = [
    postgres_only,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="needs a broker: set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0)",
    ),
    pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES),
]

FIELDS = {"time", "level", "logger", "message", "correlation_id"}
NO_ID = "-"
# Not log records: Celery writes these to stdout itself when the worker is told to stop.
CELERY_STOP_NOTICE = ("", "worker: Warm shutdown (MainProcess)")
ORDER = {"currency": "EUR", "items": [{"sku": "LOG-1", "quantity": 1, "unit_price": "2.00"}]}
SWEEPS_WHILE_IDLE = 3
WAIT = 60  # a bound for a loaded machine, not an expectation

TASK_ID = re.compile(r"\[([0-9a-f-]{36})\]")
RECEIVED = re.compile(r"^Task ([\w.]+)\[([0-9a-f-]{36})\] received$")
BEAT_SENT = re.compile(r"^orders_read\.projections_catch_up sent\. id->([0-9a-f-]{36})$")
# Every periodic task beat sends (the projections' sweep, the inbox's sweep and purge).
BEAT_SENT_ANY = re.compile(r"^[\w.]+ sent\. id->([0-9a-f-]{36})$")


def read(log: Path) -> list[dict | None]:
    """Parse a child's log: one JSON record per line (None for Celery's stop notice)."""
    parsed: list[dict | None] = []
    for number, line in enumerate(log.read_text().splitlines(), 1):
        if log.stem == "worker" and line in CELERY_STOP_NOTICE:
            parsed.append(None)
            continue
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"{log.name} line {number} is not one JSON record: {line!r}")
        assert isinstance(record, dict) and record.keys() >= FIELDS, (log.name, number, line)
        assert record["correlation_id"], (log.name, number, line)
        parsed.append(record)
    return parsed


def lines_so_far(log: Path) -> int:
    return log.read_text().count("\n")


def anonymous_get(port: int, path: str) -> tuple[int, str]:
    """GET without credentials or X-Request-ID; return the status and the id echoed."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["X-Request-ID"]
    except urllib.error.HTTPError as error:
        return error.code, error.headers["X-Request-ID"]


def idle_sweeps(log: Path) -> int:
    """How many sweeps the worker has run that found nothing to do."""
    return log.read_text().count("Sweep: every projection is at the head")


def test_web_worker_and_beat_log_one_json_record_per_line_under_its_correlation_id(alice, tmp_path):
    token = Token.objects.create(user=alice).key
    app.control.purge()  # tasks other tests queued have nothing to do with this database
    logs = {name: tmp_path / f"{name}.log" for name in ("web", "worker", "beat")}
    env = {"LOG_FORMAT": "json", "ORDINAL_SWEEP_SECONDS": "1"}
    # At DEBUG, so the lines that an idle stack keeps from INFO are there to check.
    worker = start_worker(logs["worker"], concurrency=1, pool="prefork", LOG_LEVEL="DEBUG", **env)
    beat = start_beat(logs["beat"], tmp_path / "beat-schedule", LOG_LEVEL="DEBUG", **env)
    web = None
    try:
        port = free_port()
        web = start_web(logs["web"], port, threads=1, LOG_LEVEL="INFO", **env)
        api = Api(port, token)
        assert api.call("GET", "/api/orders/", **{"X-Request-ID": "log-read"})[0] == 200
        bad = api.call("POST", "/api/orders/", {"currency": "EUR"}, **{"X-Request-ID": "log-bad"})
        assert bad[0] == 400
        status, fresh_id = anonymous_get(port, "/api/orders/")
        assert status == 401
        uuid.UUID(fresh_id)
        status, placed = api.call("POST", "/api/orders/", ORDER, **{"X-Request-ID": "log-command"})
        assert status == 201, placed
        wait_for_in_log(logs["worker"], " ready.", WAIT)
        wait_until(
            lambda: (
                len(positions()) == len(runner.projection_names())
                and min(positions().values()) >= store.head_position()
            ),
            "the command projected",
            logs["worker"],
            WAIT,
        )
        # A sweep that found nothing to do, after the catch-ups any earlier one sent.
        wait_until(lambda: idle_sweeps(logs["worker"]) > 0, "an idle sweep", logs["worker"], WAIT)

        idle_from = {name: lines_so_far(log) for name, log in logs.items()}
        sweeps = idle_sweeps(logs["worker"])
        wait_until(
            lambda: idle_sweeps(logs["worker"]) >= sweeps + SWEEPS_WHILE_IDLE,
            f"{SWEEPS_WHILE_IDLE} sweeps",
            logs["worker"],
            WAIT,
        )
        idle_to = {name: lines_so_far(log) for name, log in logs.items()}
    finally:
        for process in (web, worker, beat):
            if process is not None:
                stop(process)

    parsed = {name: read(log) for name, log in logs.items()}
    records = {name: [r for r in lines if r is not None] for name, lines in parsed.items()}

    # Idle: nothing at INFO or above from any process (the sweeps' lines are DEBUG).
    for name, lines in parsed.items():
        idle = [r for r in lines[idle_from[name] : idle_to[name]] if r is not None]
        loud = [r for r in idle if r["level"] != "DEBUG"]
        assert not loud, f"{name} logged while idle: {loud}"

    # Web: every request line (Django's 4xx lines, gunicorn's access lines) under its id,
    # once each.
    web_lines = records["web"]
    for record in web_lines:
        if record["logger"] in ("django.request", "gunicorn.access"):
            assert record["correlation_id"] != NO_ID, record

    def web_lines_of(request_id: str) -> list[tuple[str, str]]:
        return [(r["logger"], r["message"]) for r in web_lines if r["correlation_id"] == request_id]

    assert [logger for logger, _ in web_lines_of("log-read")] == ["gunicorn.access"]
    assert [logger for logger, _ in web_lines_of("log-bad")] == [
        "django.request",
        "gunicorn.access",
    ]
    assert web_lines_of("log-bad")[0][1] == "Bad Request: /api/orders/"
    assert [logger for logger, _ in web_lines_of(fresh_id)] == ["django.request", "gunicorn.access"]
    assert '" 201 ' in web_lines_of("log-command")[-1][1]

    # Worker: Celery's lines about a task, and the task's own, under the task's id.
    worker_lines = records["worker"]
    received = {}
    for record in worker_lines:
        if match := RECEIVED.match(record["message"]):
            assert match.group(2) not in received, f"received twice: {record}"
            received[match.group(2)] = record["correlation_id"]
    for record in worker_lines:
        for task_id in TASK_ID.findall(record["message"]):
            assert record["correlation_id"] == received[task_id], record
    command_lines = [r for r in worker_lines if r["correlation_id"] == "log-command"]
    messages = [r["message"] for r in command_lines]
    assert any(RECEIVED.match(m) for m in messages), messages
    assert any(" succeeded in " in m for m in messages), messages
    assert any(m.startswith(f"Nudge for position {placed['position']}: ") for m in messages)

    # Beat: a fresh id per tick, carried by the worker's lines for what the tick sent.
    ticks = {}
    for record in records["beat"]:
        if match := BEAT_SENT.match(record["message"]):
            ticks[match.group(1)] = record["correlation_id"]
    assert len(set(ticks.values())) == len(ticks) > SWEEPS_WHILE_IDLE
    for tick in ticks.values():
        uuid.UUID(tick)
    swept = {task_id: tick for task_id, tick in ticks.items() if task_id in received}
    assert len(swept) >= SWEEPS_WHILE_IDLE
    assert all(received[task_id] == tick for task_id, tick in swept.items())
    sweep_lines = [r for r in worker_lines if r["message"].startswith("Sweep: ")]
    assert {r["correlation_id"] for r in sweep_lines} <= set(ticks.values())
    every_tick = {
        record["correlation_id"]
        for record in records["beat"]
        if BEAT_SENT_ANY.match(record["message"])
    }
    assert set(ticks.values()) <= every_tick
    for record in records["beat"]:
        if record["message"].startswith("Scheduler: Sending due task"):
            assert record["level"] == "DEBUG" and record["correlation_id"] in every_tick

    # Nothing printed twice: each INFO-or-above line of a request or a task is unique
    # (at DEBUG, a library may well say the same thing twice in one second).
    for name, lines in records.items():
        seen = [
            json.dumps(r, sort_keys=True)
            for r in lines
            if r["correlation_id"] != NO_ID and r["level"] != "DEBUG"
        ]
        assert len(seen) == len(set(seen)), f"{name} has a line twice"
