"""Event appends: Ordinal's store.append against a raw psycopg INSERT, 1 and 4 writers."""

import json
import multiprocessing
import uuid

import psycopg

from .setup import write_dsn
from .stats import rate, summarise

DATA = {"sku": "MUG-01", "quantity": 2, "unit_price": "9.50", "currency": "EUR"}
META = {"actor": "bench", "correlation_id": "c", "causation_id": "c"}


def ordinal_appends(count: int) -> None:
    from django.db import connections

    from eventlog import store

    for _ in range(count):
        store.append(
            stream_type="order",
            stream_id=uuid.uuid4(),
            expected_version=0,
            events=[store.NewEvent("BenchAppended", DATA)],
            metadata=META,
        )
    connections.close_all()


def raw_inserts(count: int) -> None:
    """The baseline: one INSERT of an equivalent row per transaction, no checks, no lock."""
    with psycopg.connect(write_dsn(), autocommit=True) as conn:
        data, meta = json.dumps(DATA), json.dumps(META)
        for _ in range(count):
            conn.execute(
                "INSERT INTO eventlog_event "
                "(stream_type, stream_id, version, type, data, metadata, recorded_at) "
                "VALUES ('order', %s, 1, 'BenchAppended', %s, %s, now())",
                (uuid.uuid4(), data, meta),
            )


def in_parallel(writers: int, count: int, target=None) -> float:
    """Total appends per second with `writers` processes appending `count` each."""
    from django.db import connections

    connections.close_all()  # forked children must open their own connections
    context = multiprocessing.get_context("fork")
    target = target or ordinal_appends
    processes = [context.Process(target=target, args=(count,)) for _ in range(writers)]

    def run() -> None:
        for process in processes:
            process.start()
        for process in processes:
            process.join()

    return rate(writers * count, run)


def measure(runs: int, count: int) -> dict:
    # Taking turns run by run, so the machine's drift (its disk above all) hits each alike.
    taken: dict[str, list[float]] = {"raw": [], "single": [], "four": [], "raw_four": []}
    for _ in range(runs):
        taken["raw"].append(rate(count, lambda: raw_inserts(count)))
        taken["single"].append(rate(count, lambda: ordinal_appends(count)))
        taken["four"].append(in_parallel(4, count))
        # Context for the 4-writer ratio: how raw INSERTs themselves scale on this machine.
        taken["raw_four"].append(in_parallel(4, count, raw_inserts))
    raw, single, four, raw_four = (summarise(taken[name]) for name in taken)
    return {
        "append_single_writer": {
            "ordinal_events_per_s": single,
            "baseline_raw_insert_per_s": raw,
            "ratio": single["median"] / raw["median"],
            "target": ">= 0.6",
        },
        "append_four_writers": {
            "ordinal_events_per_s": four,
            "baseline_single_writer_per_s": single,
            "ratio": four["median"] / single["median"],
            "raw_four_writers_per_s": raw_four,
            "raw_ratio": raw_four["median"] / raw["median"],
            "target": ">= 1.6 (the eventsourcing library: 1.46)",
        },
    }
