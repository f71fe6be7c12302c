"""Projection lag: from an event's commit to its visibility in every read model, under a
steady command load over HTTP, with Redis and one Celery worker doing the projecting."""

import bisect
import os
import subprocess
import sys
import threading
import time

import psycopg

from .http import HERE, Gunicorn, wrk
from .setup import PG, READ_DB, REDIS, write_dsn
from .stats import summarise

CONNECTIONS = 20
WARM_UP_SECONDS = 1.0
DRAIN_SECONDS = 30


class Worker:
    """One `celery worker` (prefork, 2 processes) on the benchmark databases and Redis."""

    def __enter__(self) -> "Worker":
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--concurrency",
            os.environ.get("BENCH_WORKER_CONCURRENCY", "2"),
        ]
        command += ["--loglevel", "WARNING", "--without-mingle", "--without-gossip"]
        self.process = subprocess.Popen(
            command,
            cwd=HERE.parent,
            # Persistent connections, as for gunicorn: a task must not pay for a connect.
            env={**os.environ, "CONN_MAX_AGE": "600"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class VisibilityWatch(threading.Thread):
    """Poll the read DB's checkpoints; note when each lowest position became visible."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.times: list[float] = []
        self.positions: list[int] = []
        self.running = True

    def run(self) -> None:
        with psycopg.connect(f"{PG}/{READ_DB}", autocommit=True) as conn:
            while self.running:
                found = conn.execute("SELECT min(position) FROM orders_read_checkpoint")
                position = found.fetchone()[0] or 0
                if not self.positions or position > self.positions[-1]:
                    self.times.append(time.time())
                    self.positions.append(position)
                time.sleep(0.005)

    def visible_at(self, position: int) -> float | None:
        index = bisect.bisect_left(self.positions, position)
        return self.times[index] if index < len(self.times) else None


def _head() -> int:
    with psycopg.connect(write_dsn()) as conn:
        return conn.execute("SELECT coalesce(max(position), 0) FROM eventlog_event").fetchone()[0]


def _lags(watch: VisibilityWatch, after: int, started: float) -> tuple[list[float], int]:
    """Lag in ms of every event appended after `after` (past the warm-up), and the count."""
    with psycopg.connect(write_dsn()) as conn:
        rows = conn.execute(
            "SELECT position, extract(epoch FROM recorded_at) FROM eventlog_event "
            "WHERE position > %s ORDER BY position",
            [after],
        ).fetchall()
    lags = []
    for position, recorded in rows:
        if float(recorded) < started + WARM_UP_SECONDS:
            continue
        seen = watch.visible_at(position)
        lags.append(float("inf") if seen is None else (seen - float(recorded)) * 1000)
    return lags, len(rows)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(server: Gunicorn, token: str, runs: int, seconds: int, rate: int = 200) -> dict:
    """Lag at a steady `rate` of POST /api/orders/ for `seconds`, `runs` times."""
    from django.db import connections

    from orders_read import runner

    for name in runner.projection_names():  # start level with the head
        runner.projection_catch_up(name)
    subprocess.run(["redis-cli", "-u", REDIS, "FLUSHDB"], capture_output=True)  # old tasks
    connections.close_all()
    delay_ms = CONNECTIONS * 1000 // rate
    p50s, p99s, maxes, rates = [], [], [], []
    with Worker():
        time.sleep(3)  # the worker connects and is ready
        for _ in range(runs):
            after, watch = _head(), VisibilityWatch()
            watch.start()
            started = time.time()
            os.environ["BENCH_DELAY_MS"] = str(delay_ms)
            load = wrk(f"{server.url}/api/orders/", "post_paced.lua", token, seconds, CONNECTIONS)
            time.sleep(1)  # requests wrk cut off at the end may still be committing
            head = _head()
            deadline = time.time() + DRAIN_SECONDS
            while watch.visible_at(head) is None and time.time() < deadline:
                time.sleep(0.05)
            watch.running = False
            watch.join()
            lags, count = _lags(watch, after, started)
            p50s.append(_percentile(lags, 0.50))
            p99s.append(_percentile(lags, 0.99))
            maxes.append(max(lags))
            rates.append(load["rps"])
    return {
        "projection_lag": {
            "commands_per_s": summarise(rates),
            "lag_p50_ms": summarise(p50s),
            "lag_p99_ms": summarise(p99s),
            "lag_max_ms": summarise(maxes),
            "events_measured_last_run": count,
            "target": "p99 <= 100 ms",
            "setup": (
                f"wrk -c{CONNECTIONS} paced at about {rate}/s for {seconds}s; one celery worker "
                "(prefork, 2 processes) on Redis; lag = first time every checkpoint covers the "
                "event's position (polled every ~5 ms) minus its recorded_at"
            ),
        }
    }
