"""Queries through a read replica against the same queries on the read database, side by side.

    python -m bench.replica [--runs 3] [--seconds 5] [--clients 4] [--orders 200]
        [--writes 50] [--json results.json]

It starts private servers (tests/reliability/replica_stack.py, the replica test's own): a
PostgreSQL holding the write and the read database, a streaming replica of it, and two
gunicorns (1 worker, 4 threads each) on them that differ only in READ_REPLICA_URLS: one
reads the replica, the baseline reads the read database. Each run measures both, in
alternating order:

- GET one order, and GET a page of 20 orders: requests per second and latency (p50, p99)
  with `--clients` client threads on keep-alive connections;
- read-your-writes: one client places an order and at once GETs it with `?min_position=`
  its position, `--writes` times: the GET's latency, which on the replica includes
  waiting for it to replay the order.

It prints the medians, min-max over the runs and the ratios replica / read database. One
machine holds both servers, so a ratio shows what reading a replica costs a query, not
the capacity a replica on a machine of its own adds. It needs PostgreSQL's server
binaries (initdb, pg_ctl, pg_basebackup); it never touches the machine's shared servers.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from .stats import summarise

LIST_PAGE = "/api/orders/?page_size=20"


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.replica", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="load per measurement")
    parser.add_argument("--clients", type=int, default=4, help="client threads of the load")
    parser.add_argument("--orders", type=int, default=200, help="orders placed beforehand")
    parser.add_argument("--writes", type=int, default=50, help="read-your-writes pairs per run")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--workdir", help="where logs go (default: a fresh temporary folder)")
    return parser.parse_args(argv)


def load(port: int, token: str, path: str, seconds: float, clients: int) -> dict:
    """GET `path` from `clients` threads for `seconds`; return the rate and latencies."""
    from tests.reliability.replica_stack import Client

    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    start = threading.Barrier(clients + 1)
    stop_at: list[float] = []

    def client(n: int) -> None:
        api = Client(port, token)
        api.get(path)  # connected and warm before the clock starts
        start.wait()
        while time.monotonic() < stop_at[0]:
            began = time.perf_counter()
            status, _, _ = api.get(path)
            latencies[n].append(time.perf_counter() - began)
            failures[n] += status != 200

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    stop_at.append(time.monotonic() + seconds + 0.05)
    start.wait()
    for thread in threads:
        thread.join()
    every = sorted(x for own in latencies for x in own)
    return {
        "rps": len(every) / seconds,
        "p50_ms": 1000 * statistics.median(every),
        "p99_ms": 1000 * every[int(0.99 * (len(every) - 1))],
        "non_200": sum(failures),
    }


def read_your_writes(port: int, token: str, count: int) -> dict:
    """Place an order and GET it with its position `count` times; return the GETs' latency."""
    from tests.reliability.replica_stack import Client

    api = Client(port, token)
    took, failures = [], 0
    for _ in range(count):
        order_id, position = api.place_order()
        began = time.perf_counter()
        status, _, _ = api.get(f"/api/orders/{order_id}/?min_position={position}")
        took.append(time.perf_counter() - began)
        failures += status != 200
    took.sort()
    return {
        "p50_ms": 1000 * statistics.median(took),
        "max_ms": 1000 * took[-1],
        "non_200": failures,
    }


def caught_up(stack) -> bool:
    """Whether the replica holds every checkpoint as the read database does."""
    sql = "SELECT name, position FROM orders_read_checkpoint ORDER BY name"
    return stack.rows(stack.replica_url, sql) == stack.rows(stack.read_url, sql)


def measure(args: argparse.Namespace, workdir: Path) -> dict:
    from tests.reliability.replica_stack import Client, ReplicaStack

    with ReplicaStack(workdir) as stack:
        ports = {"replica": stack.serve(replicas=True), "primary": stack.serve(replicas=False)}
        writer = Client(ports["primary"], stack.token)
        order_id = None
        for _ in range(args.orders):
            order_id, _ = writer.place_order()
        deadline = time.monotonic() + 60
        while not caught_up(stack):
            if time.monotonic() > deadline:
                raise RuntimeError("the replica did not catch up within 60 s")
            time.sleep(0.1)
        paths = {"get_one_order": f"/api/orders/{order_id}/", "list_page": LIST_PAGE}
        figures: dict[str, dict[str, list[dict]]] = {
            key: {"replica": [], "primary": []} for key in [*paths, "read_your_writes"]
        }
        for run in range(args.runs):
            # Alternating which goes first, so that neither always runs on a warmer machine.
            for side in ("replica", "primary") if run % 2 == 0 else ("primary", "replica"):
                for key, path in paths.items():
                    figures[key][side].append(
                        load(ports[side], stack.token, path, args.seconds, args.clients)
                    )
                figures["read_your_writes"][side].append(
                    read_your_writes(ports[side], stack.token, args.writes)
                )
    return summary(figures, args)


def summary(figures: dict, args: argparse.Namespace) -> dict:
    """Medians and min-max over the runs, and the ratios replica / read database."""
    result: dict = {}
    for key, sides in figures.items():
        entry: dict = {}
        for side, runs in sides.items():
            for figure in runs[0]:
                values = [run[figure] for run in runs]
                entry[f"{side}_{figure}"] = (
                    sum(values) if figure == "non_200" else summarise(values)
                )
        for figure in ("rps", "p50_ms"):
            if f"replica_{figure}" in entry:
                replica, primary = entry[f"replica_{figure}"], entry[f"primary_{figure}"]
                entry[f"ratio_{figure}"] = replica["median"] / primary["median"]
        result[key] = entry
    result["setup"] = (
        f"one machine ({os.cpu_count()} CPUs): PostgreSQL primary + streaming replica, "
        f"2 gunicorns (1 worker, 4 threads); {args.clients} keep-alive client threads for "
        f"{args.seconds} s per measurement; {args.writes} read-your-writes pairs; "
        f"{args.runs} runs, alternating"
    )
    return {"replica_reads": result}


def table(result: dict) -> str:
    """One line per measurement: the medians on each side and their ratio."""
    lines = []
    for key in ("get_one_order", "list_page", "read_your_writes"):
        entry = result[key]
        for figure in ("rps", "p50_ms"):
            if f"ratio_{figure}" in entry:
                replica = entry[f"replica_{figure}"]["median"]
                primary = entry[f"primary_{figure}"]["median"]
                ratio = entry[f"ratio_{figure}"]
                lines.append(
                    f"{key:17} {figure:7} replica {replica:8.1f}  read DB {primary:8.1f}  "
                    f"ratio {ratio:.2f}"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    # The stack's helpers read Django settings (the children's base directory, environment).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ordinal-bench-replica-"))
    results = measure(args, workdir)
    text = json.dumps(results, indent=2)
    print(text)
    print(table(results["replica_reads"]), file=sys.stderr)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(f"logs: {workdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
