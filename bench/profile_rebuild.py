"""Profile a rebuild: where a replay of the log spends its time, and how fast it goes.

Usage (each step against the two PostgreSQL databases named, which `seed` recreates):

    python -m bench.profile_rebuild --write-db W --read-db R seed --events 200000
    python -m bench.profile_rebuild --write-db W --read-db R grow --factor 5
    python -m bench.profile_rebuild --write-db W --read-db R time --runs 3
    python -m bench.profile_rebuild --write-db W --read-db R split
    python -m bench.profile_rebuild --write-db W --read-db R profile --out rebuild.txt
    python -m bench.profile_rebuild --write-db W --read-db R parallel --runs 3

`time` measures the bare read of the log (pages of `store.read_all`, no projection),
the rebuild of every projection in one pass, and each projection alone; `split` times
the parts of one full rebuild (read, each projector, writes, snapshots); `parallel`
runs the three single-projection rebuilds at once, one process each.
"""

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager

from .catchup import COPY_ORDERS

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PAGE = 10_000


def configure(write_db: str, read_db: str, *, fresh: bool = False) -> None:
    """Point Django at the two databases (recreated if `fresh`), set it up, migrate both."""
    if fresh:
        for name in (write_db, read_db):
            for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
                subprocess.run(["psql", f"{PG}/postgres", "-q", "-c", sql], check=True)
    os.environ.update(
        DATABASE_URL=f"{PG}/{write_db}",
        READ_DATABASE_URL=f"{PG}/{read_db}",
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
        DEBUG="False",  # no query log
        SECRET_KEY="profile-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz",
    )
    os.environ.setdefault("ORDINAL_VAR_DIR", f"/tmp/ordinal-profile-{write_db}")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", database="default", verbosity=0)
    call_command("migrate", database="read", verbosity=0)


def seed(events: int) -> int:
    """Append about `events` order events made by the real aggregate."""
    from .catchup import seed_ordinal

    return seed_ordinal(events)


def grow(write_db: str, factor: int) -> int:
    """Multiply the log `factor` times: copies of every order under new stream ids."""
    import psycopg

    with psycopg.connect(f"{PG}/{write_db}", autocommit=True) as conn:
        head = conn.execute("SELECT max(position) FROM eventlog_event").fetchone()[0]
        for copy in range(1, factor):
            conn.execute(COPY_ORDERS, [str(copy), head])
        conn.execute("VACUUM ANALYZE eventlog_event")
        return conn.execute("SELECT count(*) FROM eventlog_event").fetchone()[0]


Measure = tuple[float, float, float]  # seconds: wall, this process's CPU, the server's CPU


# Seconds (wall, client CPU, server CPU) spent in timed calls, per open timed call.
_nested: list[list[float]] = []
# The database backends whose CPU is counted (set while measuring).
_backends: list[int] = []


def _clocks() -> tuple[float, float, float]:
    server = _server_cpu(_backends) if _backends else 0.0
    return time.perf_counter(), time.process_time(), server


def _server_cpu(pids: list[int]) -> float:
    """CPU seconds the database backends with these process ids have used so far."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def measured(result: list[float]):
    """Fill `result` with the wall, client CPU and server CPU seconds of the block.

    On a busy machine the wall time grows with the other work; the two CPU times do
    not, and on an idle one their sum is about the wall time (client and server take
    turns on one connection).
    """
    from django.db import connections

    for alias in ("default", "read"):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            _backends.append(cursor.fetchone()[0])
    before = _clocks()
    yield
    result[:] = [now - then for now, then in zip(_clocks(), before, strict=True)]
    _backends.clear()
    connections.close_all()


def read_seconds() -> Measure:
    """Page through the whole log as a rebuild does (collector paused too), projecting nothing."""
    from eventlog import store

    result: list[float] = []
    gc.disable()
    with measured(result):
        position = 0
        while events := store.read_all(position, PAGE, metadata=False):
            position = events[-1].position
    gc.enable()
    return tuple(result)


def rebuild_seconds(names: list[str] | None = None) -> Measure:
    """Rebuild these projections (all by default) in one pass."""
    from orders_read import runner

    result: list[float] = []
    with measured(result):
        runner.projections_rebuild(names)
    return tuple(result)


def log_size() -> int:
    from eventlog.models import Event

    return Event.objects.count()


def report_line(label: str, events: int, runs: int, measure: Callable[[], Measure]) -> None:
    values = [measure() for _ in range(runs)]
    wall, cpu, server = (statistics.median(v[i] for v in values) for i in range(3))
    spread = ", ".join(f"{v[0]:.2f}" for v in values)
    print(
        f"{label:<18} {wall:6.2f} s {events / wall:>8,.0f} ev/s  (walls {spread})  "
        f"CPU: client {cpu:5.2f} s + server {server:5.2f} s = {events / (cpu + server):>7,.0f} ev/s"
    )


def time_all(runs: int, parts: list[str]) -> None:
    from orders_read.projectors import PROJECTORS

    events = log_size()
    print(f"{events} events, median of {runs}; load average {os.getloadavg()[0]:.1f}")
    for part in parts:
        if part == "read":
            report_line("read only", events, runs, read_seconds)
        elif part == "all":
            report_line("rebuild all", events, runs, rebuild_seconds)
        else:
            assert part in PROJECTORS, part
            report_line(part, events, runs, lambda part=part: rebuild_seconds([part]))


@contextmanager
def _timed(owner, attribute: str, totals: dict, label: Callable[..., str]):
    """Add the seconds in `owner.attribute`, less nested timed calls, to `totals[label]`."""
    if not hasattr(owner, attribute):  # another version of the code: nothing to time
        yield
        return
    found = owner.__dict__.get(attribute)
    is_classmethod = isinstance(found, classmethod)
    original = found.__func__ if is_classmethod else getattr(owner, attribute)

    def wrapper(*args, **kwargs):
        _nested.append([0.0, 0.0, 0.0])
        before = _clocks()
        try:
            return original(*args, **kwargs)
        finally:
            spent = [now - then for now, then in zip(_clocks(), before, strict=True)]
            inner = _nested.pop()
            total = totals[label(*args, **kwargs)]
            for i in range(3):
                total[i] += spent[i] - inner[i]
                if _nested:
                    _nested[-1][i] += spent[i]

    setattr(owner, attribute, classmethod(wrapper) if is_classmethod else wrapper)
    try:
        yield
    finally:
        setattr(owner, attribute, found if is_classmethod else original)


def split() -> None:
    """Time the parts of one full rebuild: each is exclusive of the parts nested in it."""
    from contextlib import ExitStack

    from django.db import connections

    from eventlog import store
    from orders_read import runner, snapshots
    from orders_read.projectors import base

    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    parts = [
        (store, "read_all", lambda *a, **k: "read+decode (store.read_all)"),
        (base.Projector, "apply", lambda self, *a, **k: f"apply {self.name}"),
        (snapshots, "snapshot_take", lambda p, *a: f"snapshots {p.name}"),
        (snapshots, "_keys", lambda p, *a: f"snapshots keys {p.name}"),
        (snapshots, "_document", lambda p, *a: f"snapshots take {p.name}"),
        (snapshots, "_snapshots_write", lambda n, *a: f"snapshots write {n}"),
        (snapshots, "events_between", lambda *a: "snapshot re-reads (events_between)"),
        (base, "upsert", lambda model, rows: f"upsert {model.__name__}"),
        (base.Projector, "reset", lambda cls: f"reset {cls.name}"),
    ]
    for alias in ("default", "read"):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            _backends.append(cursor.fetchone()[0])
    with ExitStack() as stack:
        # The snapshots' own re-reads of the log count as theirs, not as the replay's.
        stack.enter_context(_rebind(snapshots, "store", _Unwrapped(store.read_all)))
        for owner, attribute, label in parts:
            stack.enter_context(_timed(owner, attribute, totals, label))
        before = _clocks()
        runner.projections_rebuild()
        whole = [now - then for now, then in zip(_clocks(), before, strict=True)]
    _backends.clear()
    events = log_size()
    print(
        f"{events} events: rebuild all in {whole[0]:.2f} s = {events / whole[0]:,.0f} events/s; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"  {'part':<40} {'wall':>7}  {'share':>5}  {'client CPU':>10}  {'server CPU':>10}")
    rows = sorted(totals.items(), key=lambda item: -(item[1][1] + item[1][2]))
    rest = [whole[i] - sum(t[i] for t in totals.values()) for i in range(3)]
    for label, (wall, cpu, server) in [*rows, ("rest (runner loop, checkpoints, ...)", rest)]:
        share = 100 * wall / whole[0]
        print(f"  {label:<40} {wall:6.2f} s  {share:4.1f} %  {cpu:8.2f} s  {server:8.2f} s")
    print(f"  {'total':<40} {whole[0]:6.2f} s  {'':6}  {whole[1]:8.2f} s  {whole[2]:8.2f} s")


class _Unwrapped:
    """A stand-in for the store module whose read_all is the untimed one."""

    def __init__(self, read_all) -> None:
        self.read_all = read_all


@contextmanager
def _rebind(module, name: str, value):
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


def profile(out: str, names: list[str] | None) -> None:
    """Profile one rebuild with pyinstrument; write the text tree to `out`."""
    from django.db import connections
    from pyinstrument import Profiler

    from orders_read import runner

    profiler = Profiler(interval=0.0005)
    profiler.start()
    runner.projections_rebuild(names)
    profiler.stop()
    connections.close_all()
    with open(out, "w") as f:
        f.write(profiler.output_text(unicode=False, color=False))
    print(f"profile written to {out}")


def parallel(runs: int, argv_db: list[str]) -> None:
    """Rebuild each projection in its own process, all at once; report the wall time."""
    from orders_read.projectors import PROJECTORS

    events, walls, work = log_size(), [], []
    for _ in range(runs):
        start = time.perf_counter()
        children = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.profile_rebuild", *argv_db, "one", name],
                stdout=subprocess.PIPE,
                text=True,
            )
            for name in sorted(PROJECTORS)
        ]
        outputs = [child.communicate()[0].strip() for child in children]
        walls.append(time.perf_counter() - start)
        if any(child.returncode for child in children):
            raise SystemExit("a child rebuild failed")
        # Each child prints: name wall client-CPU server-CPU
        work.append(sum(float(f) for out in outputs for f in out.split()[2:4]))
        print("  " + "; ".join(outputs) + f"; wall {walls[-1]:.2f} s, CPU {work[-1]:.2f} s")
    wall = statistics.median(walls)
    print(
        f"3 processes at once: {wall:.2f} s = {events / wall:,.0f} events/s (median of {runs}); "
        f"CPU of all (clients + servers) {statistics.median(work):.2f} s; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-db", default="ordinal_profile_write")
    parser.add_argument("--read-db", default="ordinal_profile_read")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("seed").add_argument("--events", type=int, default=200_000)
    commands.add_parser("grow").add_argument("--factor", type=int, default=5)
    timing = commands.add_parser("time")
    timing.add_argument("--runs", type=int, default=3)
    timing.add_argument("--parts", default="read,all,order_view,customer_summary,product_sales")
    commands.add_parser("split")
    profiling = commands.add_parser("profile")
    profiling.add_argument("--out", default="rebuild-profile.txt")
    profiling.add_argument("--projection", action="append")
    commands.add_parser("parallel").add_argument("--runs", type=int, default=3)
    commands.add_parser("one").add_argument("projection")
    args = parser.parse_args()

    configure(args.write_db, args.read_db, fresh=args.command == "seed")
    if args.command == "seed":
        print(f"appended {seed(args.events)} events")
    elif args.command == "grow":
        print(f"the log holds {grow(args.write_db, args.factor)} events")
    elif args.command == "time":
        time_all(args.runs, args.parts.split(","))
    elif args.command == "split":
        split()
    elif args.command == "profile":
        profile(args.out, args.projection)
    elif args.command == "parallel":
        parallel(args.runs, ["--write-db", args.write_db, "--read-db", args.read_db])
    elif args.command == "one":
        wall, cpu, server = rebuild_seconds([args.projection])
        print(f"{args.projection} {wall:.2f} {cpu:.2f} {server:.2f}")


if __name__ == "__main__":
    main()
