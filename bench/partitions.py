"""Catch-up of every projection from an empty read side by 1, 2 and 4 workers on 4 partitions.

    python -m bench.partitions [--runs 3] [--events 40000] [--json results.json]

The baseline, in the same run: one worker on an unpartitioned projection (the runner as
it was). Each worker is a process running the runner's catch-up over every (projection,
partition) pair, starting at a different pair; a partition another worker holds is
passed over (SKIP LOCKED), so the workers spread over the partitions as Celery workers
fed one task per partition do. Projection snapshots are off on both sides (partitioned
runners take none). Each run measures every setting in a rotated order and resets the
read side between them; the figures are medians of events applied per second (events x
projections / seconds) and the ratios to one worker on 4 partitions and to the baseline.
On this 2-core machine PostgreSQL shares the cores with the workers.
"""

import argparse
import json
import multiprocessing
import os
import time

from . import setup
from .stats import spread, summarise

WRITE_DB, READ_DB = "ordinal_bench_part_write", "ordinal_bench_part_read"
PARTITIONS = 4
SETTINGS = [("baseline", 1, 1), ("1 worker", 1, PARTITIONS), ("2 workers", 2, PARTITIONS)]
SETTINGS.append(("4 workers", 4, PARTITIONS))


def reset_read_side() -> None:
    """Empty every read model and put each checkpoint back at the start of the feed."""
    from django.db import connections

    from orders_read.models import (
        Checkpoint,
        ParkedStream,
        PartitionCheckpoint,
        ProjectionSnapshot,
        ProjectionSnapshotRow,
    )
    from orders_read.projectors import PROJECTORS

    for model in (ParkedStream, PartitionCheckpoint, ProjectionSnapshot, ProjectionSnapshotRow):
        model.objects.using("read").all().delete()
    with connections["read"].cursor() as cursor:
        for projector in PROJECTORS.values():
            cursor.execute(f'TRUNCATE "{projector.model._meta.db_table}"')
    for name in PROJECTORS:
        Checkpoint.objects.using("read").update_or_create(
            name=name, defaults={"tx_id": 0, "position": 0}
        )
    with connections["read"].cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connections.close_all()


def projection_names() -> list[str]:
    """The projections measured: every one, or those BENCH_PROJECTIONS names."""
    from orders_read import runner

    chosen = os.environ.get("BENCH_PROJECTIONS")
    return runner.projection_names(chosen.split(",") if chosen else None)


def worker(start: int, partitions: int) -> None:
    """Catch every (projection, partition) up, from the `start`-th pair on."""
    from django.conf import settings
    from django.db import connections

    from orders_read import runner

    settings.ORDINAL_PROJECTION_PARTITIONS = partitions
    jobs = [(name, p) for name in projection_names() for p in range(partitions)]
    jobs = jobs[start:] + jobs[:start]
    for name, partition in jobs:
        runner.projection_catch_up(name, partition=partition)
    connections.close_all()


def catch_up_rate(workers: int, partitions: int, events: int) -> float:
    """Events applied per second (events x projections) by `workers` processes."""
    from django.conf import settings
    from django.db import connections

    from orders_read import runner

    reset_read_side()
    settings.ORDINAL_PROJECTION_PARTITIONS = partitions
    for name in runner.projection_names():  # split at the start before the clock starts
        runner.partitions_relayout(runner.PROJECTORS[name], partitions, 1000)
    connections.close_all()
    context = multiprocessing.get_context("fork")
    step = max(1, (len(projection_names()) * partitions) // workers)
    processes = [
        context.Process(target=worker, args=(n * step, partitions)) for n in range(workers)
    ]
    began = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    seconds = time.perf_counter() - began
    if any(process.exitcode for process in processes):
        raise RuntimeError("A catch-up worker failed.")
    behind = set(runner.projections_behind()) & set(projection_names())
    if behind:
        raise RuntimeError(f"Not at the head after the workers ended: {behind}.")
    return events * len(projection_names()) / seconds


def measure(runs: int, events: int) -> dict:
    os.environ["ORDINAL_PROJECTION_SNAPSHOT_EVERY"] = str(10**12)
    setup.configure(WRITE_DB, READ_DB)
    from django.conf import settings

    from eventlog.models import Event

    from .catchup import seed_ordinal

    settings.ORDINAL_PROJECTION_SNAPSHOT_EVERY = 10**12
    seed_ordinal(events)
    count = Event.objects.count()
    rates: dict[str, list[float]] = {label: [] for label, _, _ in SETTINGS}
    for run in range(runs):
        order = SETTINGS[run % len(SETTINGS) :] + SETTINGS[: run % len(SETTINGS)]
        for label, workers, partitions in order:
            rates[label].append(catch_up_rate(workers, partitions, count))
            print(f"run {run + 1}: {label}: {rates[label][-1]:,.0f} events/s", flush=True)
    medians = {label: summarise(values) for label, values in rates.items()}
    one = medians["1 worker"]["median"]
    result = {
        "events": count,
        "partitions": PARTITIONS,
        "rates": medians,
        "ratios": {
            "2 workers / 1 worker": medians["2 workers"]["median"] / one,
            "4 workers / 1 worker": medians["4 workers"]["median"] / one,
            "1 worker on 4 partitions / baseline": one / medians["baseline"]["median"],
        },
    }
    setup.drop(WRITE_DB, READ_DB)
    return {"partitions_catch_up": result}


def rows(p: dict) -> list[tuple[str, str, str, str, str]]:
    """The report's rows of item 14 (bench/report.py)."""

    rates, ratios = p["rates"], p["ratios"]
    return [
        (
            "14. catch-up, 1 worker on 4 partitions (events/s)",
            spread(rates["1 worker"]),
            "1 worker, not partitioned: " + spread(rates["baseline"]),
            f"{ratios['1 worker on 4 partitions / baseline']:.2f}",
            "about 1.0 (partitions cost little)",
        ),
        (
            "14. catch-up, 2 workers on 4 partitions (events/s)",
            spread(rates["2 workers"]),
            "1 worker on 4 partitions",
            f"{ratios['2 workers / 1 worker']:.2f}",
            "up to the cores free",
        ),
        (
            "14. catch-up, 4 workers on 4 partitions (events/s)",
            spread(rates["4 workers"]),
            "1 worker on 4 partitions",
            f"{ratios['4 workers / 1 worker']:.2f}",
            "up to the cores free",
        ),
    ]


def section(r: dict) -> str:
    """The report's paragraph on item 14 (bench/report.py)."""
    if "partitions_catch_up" not in r:
        return ""
    p = r["partitions_catch_up"]
    return f"""
## 14. Partitioned projections

`python -m bench.run --only partitions` (`bench/partitions.py`): every projection caught
up from an empty read side over a log of {p["events"]:,} events, by 1, 2 and 4 worker
processes on {p["partitions"]} partitions, beside one worker on projections not split, in
one run (settings in turns, the read side reset between them). Events/s counts each
event once per projection. The workers and PostgreSQL share the machine's 2 cores: two
workers already keep both busy, so a third and fourth add nothing here; on more cores
(or workers on other machines) each partition is one more runner, up to the partition
count. One worker on 4 partitions reads each projection's feed once per partition (the
other partitions' rows are passed over in SQL) and merges cross-stream rows instead of
overwriting them: what the ratio to the unpartitioned baseline costs.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.partitions", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    results = measure(args.runs, args.events)
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)


if __name__ == "__main__":
    main()
