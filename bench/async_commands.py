"""Item 13: asynchronous commands (`Prefer: respond-async`) beside the synchronous POST.

    python -m bench.async_commands [--runs 1] [--seconds 8] [--clients 4] [--rate 5]
        [--json results.json]

On databases of its own (dropped after), with a gunicorn (2 sync workers) and a real
Celery worker (prefork, 2 processes) on Redis (BENCH_REDIS, its own queue). Each run:

- burst: `--clients` threads POST /api/orders/ as fast as they can for `--seconds`,
  synchronously, then with `Prefer: respond-async` (the worker runs the accepted
  commands meanwhile): requests per second and p50/p99 of the answer (201 or 202); then
  how fast the worker drains what was accepted (commands run per second);
- steady: the same clients send `--rate` commands per second in all for `--seconds`,
  synchronously, then async: the answer's p50/p99, and for async the end-to-end latency,
  from the entry's creation (inside the POST) to its outcome's commit (the inbox's own
  timestamps, one clock), p50/p99.
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from .stats import spread, summarise

HERE = Path(__file__).resolve().parent
WRITE_DB, READ_DB = "ordinal_bench_async_write", "ordinal_bench_async_read"
BODY = json.dumps(
    {
        "currency": "EUR",
        "items": [
            {"sku": "MUG-01", "quantity": 2, "unit_price": "9.50"},
            {"sku": "TEA-12", "quantity": 1, "unit_price": "4.00"},
        ],
    }
)


def post(connection: http.client.HTTPConnection, token: str, prefer: bool) -> tuple[int, dict]:
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    if prefer:
        headers["Prefer"] = "respond-async"
    connection.request("POST", "/api/orders/", BODY, headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def load(
    port: int, token: str, *, prefer: bool, seconds: float, clients: int, rate: float | None
) -> dict:
    """POST from `clients` threads for `seconds`, flat out or at `rate` per second in all."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    accepted: list[list[str]] = [[] for _ in range(clients)]
    failures = [0] * clients
    begin = threading.Barrier(clients + 1)
    started: list[float] = []

    def client(k: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        begin.wait()
        t0 = started[0]
        n = 0
        while True:
            if rate is not None:
                due = t0 + (k + n * clients) / rate
                if due - t0 >= seconds:
                    break
                time.sleep(max(0.0, due - time.monotonic()))
            elif time.monotonic() - t0 >= seconds:
                break
            sent = time.monotonic()
            status, body = post(connection, token, prefer)
            latencies[k].append((time.monotonic() - sent) * 1000)
            if status not in (201, 202):
                failures[k] += 1
            elif prefer:
                accepted[k].append(body["command_id"])
            n += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    started.append(time.monotonic())
    begin.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started[0]
    every = sorted(x for chunk in latencies for x in chunk)
    return {
        "rps": len(every) / elapsed,
        "p50_ms": statistics.median(every),
        "p99_ms": every[int(len(every) * 0.99) - 1],
        "failures": sum(failures),
        "command_ids": [c for chunk in accepted for c in chunk],
    }


def wait_done(command_ids: list[str], seconds: float = 600) -> dict:
    """Wait until every entry ran; return end-to-end latencies and the drain rate."""
    from orders_write.models import InboxCommand

    entries = InboxCommand.objects.filter(command_id__in=command_ids)
    deadline = time.monotonic() + seconds
    while entries.filter(status__in=["queued", "running"]).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not run every accepted command")
        time.sleep(0.2)
    rows = list(entries.values_list("status", "created_at", "finished_at"))
    e2e = sorted((done - made).total_seconds() * 1000 for _, made, done in rows)
    span = (max(r[2] for r in rows) - min(r[1] for r in rows)).total_seconds()
    return {
        "succeeded": sum(1 for status, _, _ in rows if status == "succeeded"),
        "e2e_p50_ms": statistics.median(e2e),
        "e2e_p99_ms": e2e[int(len(e2e) * 0.99) - 1],
        "drain_per_s": len(rows) / span,
    }


def start_worker(log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork"]
    command += ["--concurrency", "2", "--loglevel", "WARNING", "--without-mingle"]
    command += ["--without-gossip", "-n", f"bench-{uuid.uuid4().hex}@%h"]
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=HERE.parent, stdout=out, stderr=subprocess.STDOUT)


def measure(runs: int, seconds: float, clients: int, rate: float) -> dict:
    from . import setup

    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-async-{uuid.uuid4().hex[:8]}"
    setup.configure(WRITE_DB, READ_DB)
    from .http import Gunicorn, bench_token

    token = bench_token()
    keys = ["burst_sync", "burst_async", "steady_sync", "steady_async"]
    found: dict[str, list[dict]] = {key: [] for key in keys}
    log = Path(tempfile.mkdtemp(prefix="bench-async-")) / "worker.log"
    worker = start_worker(log)
    try:
        with Gunicorn() as server:
            for _ in range(runs):
                for key in keys:
                    steady = rate if key.startswith("steady") else None
                    result = load(
                        server.port,
                        token,
                        prefer=key.endswith("async"),
                        seconds=seconds,
                        clients=clients,
                        rate=steady,
                    )
                    if key.endswith("async"):
                        result.update(wait_done(result["command_ids"]))
                    del result["command_ids"]
                    found[key].append(result)
    finally:
        worker.terminate()
        worker.wait(30)
        from django.db import connections

        connections.close_all()
        setup.drop(WRITE_DB, READ_DB)
    out: dict = {"setup": f"{clients} clients, {seconds:g} s each, steady {rate:g}/s"}
    for key, results in found.items():
        out[key] = {
            name: summarise([r[name] for r in results])
            for name in results[0]
            if name not in ("failures", "succeeded")
        }
        out[key]["failures"] = sum(r["failures"] for r in results)
    return {"async_commands": out}


def rows(p: dict) -> list[tuple[str, str, str, str, str]]:
    """The report's rows of item 13 (bench/report.py)."""

    burst_sync, burst_async = p["burst_sync"], p["burst_async"]
    steady_sync, steady_async = p["steady_sync"], p["steady_async"]
    ratio = burst_async["rps"]["median"] / burst_sync["rps"]["median"]
    return [
        (
            "13. POST /api/orders/ async, accepted (req/s)",
            spread(burst_async["rps"]),
            "synchronous: " + spread(burst_sync["rps"]),
            f"{ratio:.2f}",
            "none: async absorbs bursts, workers add capacity",
        ),
        (
            "13. async commands run by 1 worker (2 processes), per s",
            spread(burst_async["drain_per_s"]),
            "",
            "",
            "",
        ),
        (
            "13. steady rate: answer p50 / p99 ms, async",
            f"{spread(steady_async['p50_ms'], 1)} / {spread(steady_async['p99_ms'], 1)}",
            f"synchronous: {spread(steady_sync['p50_ms'], 1)} / {spread(steady_sync['p99_ms'], 1)}",
            f"{steady_async['p50_ms']['median'] / steady_sync['p50_ms']['median']:.2f}",
            "",
        ),
        (
            "13. steady rate: 202 to succeeded, p50 / p99 ms",
            f"{spread(steady_async['e2e_p50_ms'], 1)} / {spread(steady_async['e2e_p99_ms'], 1)}",
            "",
            "",
            "",
        ),
    ]


def section(r: dict) -> str:
    """The report's paragraph on item 13 (bench/report.py)."""
    if "async_commands" not in r:
        return ""
    p = r["async_commands"]
    return f"""
## 13. Asynchronous commands

`python -m bench.run --only async` ({p["setup"]}; `bench/async_commands.py`): POST
/api/orders/ with `Prefer: respond-async` beside the synchronous POST, on databases of
its own, with one gunicorn (2 sync workers) and one Celery worker (prefork, 2 processes)
on Redis, all on the same machine. Burst: clients as fast as they can; the worker runs
the accepted commands meanwhile, so the two compete for the same cores. Steady: a fixed
rate below what the worker drains; "202 to succeeded" is from the inbox entry's
creation (inside the POST) to its outcome's commit, by the inbox's own timestamps.
An accepted command costs an insert into the inbox (and a sealed address, if any) and a
publish: about what a synchronous `PlaceOrder` costs (one insert into the log), so
accepting is no cheaper than running, and on one 2-core machine the worker running the
accepted commands takes cores from gunicorn. Running one costs the synchronous
command's work plus taking the entry (one UPDATE ... RETURNING) and storing its outcome
(one UPDATE in the command's own transaction), and the worker also runs each command's
projection catch-up (about 40 ms each in a worker on a loaded machine), so one worker of
2 processes runs fewer commands per second than gunicorn answers synchronously. Async
commands absorb bursts (the 202 stays fast while the backlog waits in the inbox);
capacity comes from more workers, on other machines.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.async_commands")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=float, default=5.0, help="commands/s of the steady load")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    results = measure(args.runs, args.seconds, args.clients, args.rate)
    text = json.dumps(results, indent=2)
    if args.json:
        Path(args.json).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
