"""Run every benchmark against its baseline and write bench/results.json and docs/BENCHMARKS.md.

Usage: python -m bench.run [--quick] [--runs 3] [--count 1000] [--events 100000]
    [--peer-events 20000] [--seconds 10] [--online-events 1000000]

It DROPS and recreates the databases ordinal_bench_write and ordinal_bench_read on the
PostgreSQL at BENCH_PG (default postgres://postgres@127.0.0.1:5432), uses Redis db 12
(BENCH_REDIS), and starts and stops its own gunicorn on a free port of 127.0.0.1. Items 9
to 11 use databases of their own, dropped after (item 11: six named from
BENCH_PRIVACY_DB, default ordinal_bench_privacy).
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import report, setup
from .catchup import PEER_EVENTS

ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict:
    def run(*cmd: str) -> str:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in run("lscpu").splitlines()
            if line.startswith("Model name")
        ),
        "?",
    )
    return {
        "cpus": run("nproc"),
        "cpu_model": cpu,
        "memory": run("sh", "-c", "free -h | awk '/Mem:/ {print $2}'"),
        "python": platform.python_version(),
        "postgres": run("psql", f"{setup.PG}/postgres", "-tAc", "SHOW server_version"),
        "redis": run("redis-server", "--version").split(" ")[2]
        if run("which", "redis-server")
        else "?",
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 run, small sizes")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=1000, help="appends per writer per run")
    parser.add_argument("--events", type=int, default=100_000, help="events to rebuild")
    parser.add_argument(
        "--peer-events",
        type=int,
        default=PEER_EVENTS,
        help="events the eventsourcing projection runner is timed over (0: the whole log)",
    )
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per run")
    parser.add_argument("--list-sizes", type=int, nargs=2, default=[10_000, 1_000_000])
    parser.add_argument("--as-of-sizes", type=int, nargs=2, default=[10_000, 1_000_000])
    parser.add_argument(
        "--online-events", type=int, default=1_000_000, help="log rebuilt while serving"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=["append", "rebuild", "online", "privacy", "replica", "async", "partitions"],
        help="re-measure only items 1-2 (append: 1 writer against a raw INSERT, 4 writers "
        "against 1), 4 (rebuild), 10 (online rebuild) and/or 11 (privacy: "
        "append and rebuild sealed against clear) and/or 12 (replica: queries through a "
        "streaming replica against the read database) and/or 13 (async: commands with "
        "Prefer: respond-async beside synchronous ones) and/or 14 (partitions: catch-up by "
        "1, 2 and 4 workers on 4 partitions); every other figure is kept from "
        "bench/results.json, and the report says which were re-measured, and when",
    )
    args = parser.parse_args()
    if args.quick:
        args.runs, args.count, args.events, args.seconds = 1, 200, 5000, 3
        args.peer_events = 1000
        args.list_sizes = [10_000, 50_000]
        args.as_of_sizes = [2_000, 20_000]
        args.online_events = 20_000

    started = time.perf_counter()
    if args.only:
        refresh(args, started)
        return
    setup.configure()
    from . import aggregate, append, catchup, http, lag, listscale

    results: dict = {"machine": machine(), "runs": args.runs, "quick": args.quick}
    # The rebuild first, on a log holding only its own events; the appends use an event
    # type no projector handles ("BenchAppended"), so later catch-ups skip them.
    results.update(catchup.measure(args.runs, args.events, peer_events=args.peer_events))
    results.update(append.measure(args.runs, args.count))
    results.update(aggregate.measure())
    token = http.bench_token()
    from django.db import connections

    connections.close_all()
    with http.Gunicorn() as server:
        results.update(http.measure_commands(server, token, args.runs, args.seconds))
        results.update(http.measure_queries(server, token, args.runs, args.seconds))
        results.update(lag.measure(server, token, args.runs, args.seconds))
        results.update(listscale.measure(server, token, args.runs, args.seconds, *args.list_sizes))
    connections.close_all()
    # On databases of its own, in a child process: it needs a log of exactly its sizes.
    from . import asof

    results.update(asof.measure(args.runs, *args.as_of_sizes))
    # Item 10, also on databases of its own: a rebuild while commands and queries flow.
    from . import rebuild_online

    results.update(rebuild_online.measure(args.online_events))
    # Item 11, in child processes on databases of their own: sealed against clear.
    from . import privacy

    results.update(privacy.measure(args.runs, args.count, args.events))
    results.update(child_measured("async_commands", args.runs))
    results.update(child_measured("partitions", args.runs))
    subprocess.run(["redis-cli", "-u", setup.REDIS, "FLUSHDB"], capture_output=True)
    results["wall_seconds"] = time.perf_counter() - started
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2))
    if not args.quick:
        (ROOT / "docs" / "BENCHMARKS.md").write_text(report.markdown(results))
    print(report.table(results))


def child_measured(module: str, runs: int) -> dict:
    """An item measured by `python -m bench.<module>` in a child process (databases of its
    own, Django set up there)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"{module}.json"
        subprocess.run(
            [sys.executable, "-m", f"bench.{module}", "--runs", str(runs), "--json", str(out)],
            cwd=ROOT,
            check=True,
        )
        return json.loads(out.read_text())


def refresh(args: argparse.Namespace, started: float) -> None:
    """Re-measure some items into the last full run's results (they say so)."""
    path = ROOT / "bench" / "results.json"
    results = json.loads(path.read_text())
    if "append" in args.only:
        setup.configure()
        from . import append

        results.update(append.measure(args.runs, args.count))
    if "rebuild" in args.only:
        setup.configure()
        from . import catchup

        results = {k: v for k, v in results.items() if not k.startswith("rebuild_")}
        results.update(catchup.measure(args.runs, args.events, peer_events=args.peer_events))
    if "online" in args.only:
        from . import rebuild_online

        results.update(rebuild_online.measure(args.online_events))
    if "privacy" in args.only:
        from . import privacy

        results.update(privacy.measure(args.runs, args.count, args.events))
    if "replica" in args.only:
        results.update(child_measured("replica", args.runs))
    if "async" in args.only:
        results.update(child_measured("async_commands", args.runs))
    if "partitions" in args.only:
        results.update(child_measured("partitions", args.runs))
    # Every refresh since the full run is listed, so the report says when each was measured.
    earlier = results.get("refreshed") or []
    results["refreshed"] = [
        *([earlier] if isinstance(earlier, dict) else earlier),
        {
            "items": args.only,
            "runs": args.runs,
            "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": machine(),
            "seconds": round(time.perf_counter() - started),
        },
    ]
    path.write_text(json.dumps(results, indent=2))
    (ROOT / "docs" / "BENCHMARKS.md").write_text(report.markdown(results))
    print(report.table(results))


if __name__ == "__main__":
    main()
