"""Rebuild every read model while HTTP commands and queries flow (issue 13, blue/green).

Run in its own process on its own databases, dropped at the end (`python -m
bench.rebuild_online --events N` prints a markdown section, then the results as JSON on
its last line; set BENCH_REDIS to choose the Redis database). The log is seeded
as for item 4 (up to 100k events by the aggregate, the rest SQL copies under new stream
ids) and projected once; then gunicorn and one Celery worker serve it, commands nudging
catch-ups through Redis. Two phases, each with the same client loops:

- commands: POST an order, then GET it with `?min_position=<its position>` until 200;
  the read-your-writes latency is from sending the POST to that 200;
- queries: the sales report, the commands' customer and a seeded customer, in turn; each
  answer must hold every event up to its `X-Read-Position` (checked against the log once
  the phase is over), never less than the answer before it, nothing the log lacks, and
  the seeded customer must not change at all (a 404 of either customer is incomplete).

Phase A runs the loops for a few seconds (the baseline); phase B runs them while
`manage.py rebuild_projections` replays the whole log in a subprocess, and counts only
what was sent while it ran.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import requests

from . import setup
from .catchup import COPY_ORDERS
from .online_clients import CUSTOMER, ORDER, QUANTITY, Loops, check, figure, percentiles

WRITE_DB, READ_DB = "ordinal_bench_online_write", "ordinal_bench_online_read"
TEMPLATE = 100_000  # events made by the aggregate; the rest are SQL copies of them
WARM_UP_SECONDS = 1.0
ROOT = Path(__file__).resolve().parent.parent


def _dsn() -> str:
    return f"{setup.PG}/{WRITE_DB}"


def seed(events: int) -> int:
    """Append at least `events` events (the aggregate's, then SQL copies); return the head."""
    from .catchup import seed_ordinal

    seed_ordinal(min(events, TEMPLATE))
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        template = head = _head(conn)
        copy = 1
        while head < events:
            conn.execute(COPY_ORDERS, [f"online-{copy}", template])
            head, copy = _head(conn), copy + 1
        conn.execute("VACUUM ANALYZE eventlog_event")
    return head


def _head(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT coalesce(max(position), 0) FROM eventlog_event").fetchone()[0]


def _state(url: str, token: str, paths: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """The log's head and every query's answer once the read models have reached it."""
    with psycopg.connect(_dsn()) as conn:
        head = _head(conn)
    headers = {"Authorization": f"Token {token}"}
    figures = {}
    deadline = time.monotonic() + 60  # a worker just started takes a few seconds
    for kind, path in paths.items():
        while True:
            answer = requests.get(f"{url}{path}?min_position={head}", headers=headers, timeout=30)
            if answer.status_code != 503 or time.monotonic() > deadline:
                break
        answer.raise_for_status()
        figures[kind] = figure(kind, answer.json())
    return head, figures


def _placed_since(head: int) -> list[int]:
    """Positions of the orders placed after `head` (only the command loop places any)."""
    with psycopg.connect(_dsn()) as conn:
        rows = conn.execute(
            "SELECT position FROM eventlog_event WHERE position > %s AND type = 'OrderPlaced' "
            "ORDER BY position",
            [head],
        ).fetchall()
    return [row[0] for row in rows]


def phase(url: str, token: str, loops: dict, during: Callable[[], dict]) -> dict:
    """Run the client loops around `during`; report what was sent while it ran."""
    head, before = _state(url, token, loops["paths"])
    run = Loops(url, token, **loops)
    run.start()
    time.sleep(WARM_UP_SECONDS)  # past the loops' first requests
    started = time.time()
    try:
        extra = during()
    finally:
        ended = time.time()
        run.finish()

    def inside(sent: float) -> bool:
        return started <= sent <= ended

    placed = _placed_since(head)
    counts = check([a for a in run.answers if inside(a[0])], before, placed)
    statuses = Counter()
    for (sent, status), n in run.statuses.items():
        statuses[status] += n if inside(sent) else 0
    timed = [(ms, sent) for sent, ms in run.commands if inside(sent) and ms is not None]
    latencies = sorted(ms for ms, _ in timed)
    commands = sum(inside(sent) for sent, _ in run.commands)
    _, after = _state(url, token, loops["paths"])
    expected = {
        "report": before["report"] + QUANTITY * len(placed),
        "customer": before["customer"] + len(placed),
        "seeded": before["seeded"],
    }
    return extra | {
        "seconds": ended - started,
        "commands": commands,
        "commands_per_s": commands / (ended - started),
        "commands_not_read": commands - len(latencies),
        "read_your_writes_ms": percentiles(latencies),
        # When the slowest command was sent, in seconds from the phase's start.
        "slowest_sent_at_s": max(timed)[1] - started if timed else None,
        "query_answers_checked": counts["checked"],
        "incomplete_answers": counts["incomplete"],
        "wrong_answers": counts["wrong"],
        "status_5xx_not_503": sum(n for s, n in statuses.items() if s >= 500 and s != 503),
        "status_503": statuses[503],
        "no_response": statuses[0],
        "statuses": {str(s): n for s, n in sorted(statuses.items()) if n},
        # Once the loops stop and the workers catch up: every read model exactly right.
        "final_answers_exact": after == expected,
    }


def rebuild() -> dict:
    """Run `manage.py rebuild_projections` to its end, as the web runs; time it."""
    started, wall = time.perf_counter(), time.time()
    done = subprocess.run(
        [sys.executable, "manage.py", "rebuild_projections", "--no-progress"],
        cwd=ROOT,
        env={**os.environ, "CONN_MAX_AGE": "600", "DJANGO_SETTINGS_MODULE": "bench.settings"},
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"rebuild_projections failed:\n{done.stdout}\n{done.stderr}")
    events = int(re.search(r"(\d+) events read", done.stdout).group(1))
    with psycopg.connect(f"{setup.PG}/{READ_DB}") as conn:
        # The builder's own time, from its rows: without the process's start and exit.
        begun, first_swap, last_swap = conn.execute(
            "SELECT extract(epoch FROM min(started_at)), extract(epoch FROM min(finished_at)), "
            "extract(epoch FROM max(finished_at)) "
            "FROM orders_read_rebuild WHERE kind = 'rebuild' AND created_at >= %s",
            [datetime.fromtimestamp(wall, UTC)],
        ).fetchone()
    return {
        "rebuild_seconds": seconds,
        "rebuild_builder_seconds": float(last_swap - begun),
        # When the swaps committed, in seconds from the subprocess's start.
        "rebuild_swaps_at_s": [float(first_swap) - wall, float(last_swap) - wall],
        "rebuild_events": events,
        "rebuild_events_per_s": events / seconds,
        "rebuild_swapped": done.stdout.count("rebuilt and swapped in"),
    }


def _busiest_customer() -> str:
    """The seeded customer with the most orders."""
    from orders_read.models import CustomerSummary

    return CustomerSummary.objects.using("read").order_by("-orders_count").first().customer_id


def run(events: int, seconds: float, rate: float, threads: int, query_rate: float) -> dict:
    """Seed, project, serve, then measure both phases on this process's databases."""
    setup.configure(WRITE_DB, READ_DB)
    from django.contrib.auth.models import User
    from django.db import connections

    from orders_read import rebuilds

    from .http import Gunicorn, bench_token
    from .lag import Worker

    head = seed(events)
    rebuilds.projections_rebuild()
    token = bench_token()
    User.objects.get_or_create(username=CUSTOMER)
    connections.close_all()
    subprocess.run(["redis-cli", "-u", setup.REDIS, "FLUSHDB"], capture_output=True, check=True)
    paths = {
        "report": "/api/reports/product-sales/",
        "customer": f"/api/customers/{CUSTOMER}/",
        "seeded": f"/api/customers/{_busiest_customer()}/",  # no command touches it
    }
    loops = {"rate": rate, "threads": threads, "query_rate": query_rate, "paths": paths}
    with Gunicorn() as server, Worker():
        # The customer's first order (its summary exists from then on); both up and answering.
        requests.post(
            f"{server.url}/api/orders/",
            json=ORDER,
            headers={"Authorization": f"Token {token}"},
            timeout=30,
        ).raise_for_status()
        _state(server.url, token, paths)
        baseline = phase(server.url, token, loops, lambda: time.sleep(seconds) or {})
        during = phase(server.url, token, loops, rebuild)
    subprocess.run(["redis-cli", "-u", setup.REDIS, "FLUSHDB"], capture_output=True)
    p99, base_p99 = during["read_your_writes_ms"]["p99"], baseline["read_your_writes_ms"]["p99"]
    return {
        # Not "rebuild_...": item 4's rows are every key starting so.
        "online_rebuild": {
            "events": head,
            "baseline": baseline,
            "during_rebuild": during,
            "p99_ratio": p99 / base_p99 if p99 and base_p99 else None,
            "target": "0 incomplete answers, 0 5xx; p99 read-your-writes within the usual lag",
            "setup": (
                f"gunicorn 2 sync workers, one celery worker (prefork, 2 processes) on Redis; "
                f"{threads} command thread(s) paced at {rate:g} commands/s in all (POST, then GET "
                f"?min_position until 200), 1 query thread at {query_rate:g}/s; baseline "
                f"{seconds:g} s"
            ),
        }
    }


def measure(events: int, seconds: float = 20, rate: float = 20, threads: int = 1) -> dict:
    """Run the benchmark in a child process on its own databases; drop them after."""
    command = [sys.executable, "-m", "bench.rebuild_online", "--events", str(events)]
    command += ["--seconds", str(seconds), "--rate", str(rate), "--threads", str(threads)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    finally:
        setup.drop(WRITE_DB, READ_DB)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the log")
    parser.add_argument("--seconds", type=float, default=20, help="baseline phase length")
    parser.add_argument("--rate", type=float, default=20, help="commands per second in all")
    parser.add_argument("--threads", type=int, default=1, help="command client threads")
    parser.add_argument("--query-rate", type=float, default=10, help="queries per second")
    args = parser.parse_args()
    try:
        results = run(args.events, args.seconds, args.rate, args.threads, args.query_rate)
    finally:
        setup.drop(WRITE_DB, READ_DB)  # a large log is not kept after its benchmark
    from .report import online_rebuild

    print(online_rebuild(results))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
