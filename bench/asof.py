"""`as_of` on the sales report at a large log against a small one (goal: about 1.0x).

Run in its own process on its own databases (`python -m bench.asof SMALL LARGE RUNS`
prints JSON), because it needs a log of exactly its sizes. The log is grown in SQL:
copies of a few thousand events the real aggregate made, under new stream ids, with
recorded_at increasing with the position, as the log records it. The projections are
then rebuilt (which takes their snapshots), and `as_of` is asked at instants spread
over the whole log, through the query handler and the API's serializer, in process.
"""

import json
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from .stats import summarise

WRITE_DB, READ_DB = "ordinal_bench_asof_write", "ordinal_bench_asof_read"
TEMPLATE = 5000  # events made by the aggregate; the rest are SQL copies of them
INSTANTS = 50  # as_of instants per run, spread over the log
BASE = datetime(2020, 1, 1, tzinfo=UTC)

COPY = """
INSERT INTO eventlog_event
    (stream_type, stream_id, version, type, data, metadata, recorded_at)
SELECT stream_type, new_id, version, type,
    jsonb_set(data, '{order_id}', to_jsonb(new_id::text)), metadata,
    %s::timestamptz + (position * interval '1 microsecond')
FROM (SELECT *, md5(stream_id::text || %s)::uuid AS new_id
      FROM eventlog_event WHERE position <= %s) AS original
ORDER BY position
"""


def seed_template(events: int) -> int:
    """Append about `events` realistic events made by the aggregate, all at BASE."""
    from django.utils import timezone

    from orders_read.management.commands import bench_catch_up

    real_now = timezone.now
    timezone.now = lambda: BASE  # the seed stamps every row with one "now"
    try:
        return bench_catch_up.Command().seed(events, random.Random(1))
    finally:
        timezone.now = real_now


def grow_to(target: int, template: int) -> int:
    """Copy the template events until the log holds at least `target`; return the head.

    Copy k is recorded k minutes after BASE (plus a microsecond per position), so
    recorded_at never decreases as the position grows.
    """
    import psycopg

    from .setup import PG

    with psycopg.connect(f"{PG}/{WRITE_DB}", autocommit=True) as conn:
        head = conn.execute("SELECT coalesce(max(position), 0) FROM eventlog_event").fetchone()[0]
        copy = head // template
        while head < target:
            at = BASE + timedelta(minutes=copy)
            conn.execute(COPY, [at, f"copy-{copy}", template])
            head = conn.execute("SELECT max(position) FROM eventlog_event").fetchone()[0]
            copy += 1
        conn.execute("VACUUM ANALYZE eventlog_event")
    return head


def rebuild() -> None:
    from django.db import connections

    from orders_read import rebuilds

    rebuilds.projections_rebuild()
    connections.close_all()


def as_of_ms(runs: int, rng: random.Random) -> dict:
    """Median milliseconds of one as_of report, over instants spread across the log."""
    from eventlog.models import Event
    from orders_read.api.serializers import ProductSalesOutput
    from orders_read.handlers import get_product_sales_as_of
    from orders_read.queries import GetProductSalesAsOf, Viewer

    first, last = (
        Event.objects.order_by(order).values_list("recorded_at", flat=True).first()
        for order in ("position", "-position")
    )
    span = (last - first).total_seconds()
    viewer = Viewer("bench", is_staff=True)
    medians = []
    for _ in range(runs):
        timings = []
        for _ in range(INSTANTS):
            instant = first + timedelta(seconds=rng.uniform(0, span))
            start = time.perf_counter()
            found = get_product_sales_as_of(GetProductSalesAsOf(viewer=viewer, as_of=instant))
            ProductSalesOutput(found.value, many=True).data  # noqa: B018 (rendered, as served)
            timings.append((time.perf_counter() - start) * 1000)
        medians.append(statistics.median(timings))
    return summarise(medians)


def run(small: int, large: int, runs: int) -> dict:
    """Measure at `small` events, grow the log to `large`, measure again (one process)."""
    from . import setup

    setup.configure(WRITE_DB, READ_DB)
    template = seed_template(min(TEMPLATE, small))
    sizes, figures = [], []
    for target in (small, large):
        head = grow_to(target, template)
        rebuild()
        sizes.append(head)
        figures.append(as_of_ms(runs, random.Random(target)))
    return {
        "query_as_of_report_scaling": {
            "events": sizes,
            "ms_small": figures[0],
            "ms_large": figures[1],
            "ratio": figures[1]["median"] / figures[0]["median"],
            "target": "about 1.0",
        }
    }


def measure(runs: int, small: int, large: int) -> dict:
    """Run the benchmark in a child process on its own databases; drop them after."""
    from . import setup

    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.asof", str(small), str(large), str(runs)],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        setup.drop(WRITE_DB, READ_DB)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    small_, large_, runs_ = (int(arg) for arg in sys.argv[1:4])
    print(json.dumps(run(small_, large_, runs_)))
