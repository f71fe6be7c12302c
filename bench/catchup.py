"""Rebuild every read model from N events against the `eventsourcing` library reading
and decoding the same number of events from its PostgreSQL notification log."""

import random
import time

from .setup import PG, WRITE_DB
from .stats import repeat

PAGE = 1000


def seed_ordinal(events: int) -> int:
    """Append about `events` realistic order events (the real aggregate) in bulk."""
    from orders_read.management.commands.bench_catch_up import Command

    return Command().seed(events, random.Random(1))


def ordinal_rebuild_seconds() -> float:
    """Seconds to rebuild all read models in one pass over the log (rebuild_projections)."""
    from django.db import connections

    from orders_read import runner

    start = time.perf_counter()
    runner.projections_rebuild()
    elapsed = time.perf_counter() - start
    connections.close_all()
    return elapsed


def grow_logs(factor: int) -> None:
    """Multiply both logs `factor` times in SQL: copies of every order under new ids.

    Seeding 1M events through the aggregates would take minutes; the copies keep the
    same mix of events, interleaved in the same way, each stream under a fresh id.
    """
    import psycopg

    with psycopg.connect(f"{PG}/{WRITE_DB}", autocommit=True) as conn:
        for copy in range(1, factor):
            conn.execute(
                "INSERT INTO eventlog_event "
                "(stream_type, stream_id, version, type, data, metadata, recorded_at, "
                "schema_version) "
                "SELECT stream_type, new_id, version, type, "
                "jsonb_set(data, '{order_id}', to_jsonb(new_id::text)), metadata, recorded_at, "
                "schema_version "
                "FROM (SELECT *, md5(stream_id::text || %s)::uuid AS new_id "
                "FROM eventlog_event WHERE position <= %s) AS original ORDER BY position",
                [str(copy), _original_head(conn)],
            )
            conn.execute(
                "INSERT INTO application_events (originator_id, originator_version, topic, state) "
                "SELECT md5(originator_id::text || %s)::uuid, originator_version, topic, state "
                "FROM application_events WHERE notification_id <= %s ORDER BY notification_id",
                [str(copy), _original_head(conn, "application_events", "notification_id")],
            )
        conn.execute("VACUUM ANALYZE eventlog_event")
        conn.execute("VACUUM ANALYZE application_events")


_heads: dict[str, int] = {}


def _original_head(conn, table: str = "eventlog_event", column: str = "position") -> int:
    if table not in _heads:
        _heads[table] = conn.execute(f"SELECT max({column}) FROM {table}").fetchone()[0]
    return _heads[table]


def _application():
    from eventsourcing.application import Application

    user_host = PG.split("://", 1)[1]
    user, hostport = user_host.split("@", 1)
    host, _, port = hostport.partition(":")
    return Application(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": WRITE_DB,
            "POSTGRES_HOST": host,
            "POSTGRES_PORT": port or "5432",
            "POSTGRES_USER": user.split(":")[0],
            "POSTGRES_PASSWORD": user.split(":")[1] if ":" in user else "",
            "CREATE_TABLE": "y",
        }
    )


def seed_eventsourcing(events: int) -> None:
    """Store `events` events of the same shape as Ordinal's in the library's own table."""
    from .es_model import BenchOrder

    app, rng, batch, count = _application(), random.Random(1), [], 0
    while count < events:
        order = BenchOrder(
            customer_id=f"customer-{rng.randrange(2000)}",
            currency="EUR",
            items=[{"sku": f"SKU-{s}", "quantity": 2, "unit_price": "9.50"} for s in range(3)],
            total="28.50",
        )
        order.add_item("SKU-9", 2, "3.50", "35.50")
        order.change_quantity("SKU-0", 7, "9.50", "83.00")
        order.remove_item("SKU-1", "64.00")
        order.ship("T-1")
        for event in order.collect_events():
            batch.append(app.mapper.to_stored_event(event))
        count += 5
        if len(batch) >= 5000:
            app.recorder.insert_events(batch)
            batch = []
    if batch:
        app.recorder.insert_events(batch)
    app.close()


def eventsourcing_read_seconds() -> float:
    """Seconds to page through the notification log and decode every event."""
    app = _application()
    start, decoded = time.perf_counter(), 0
    position = 1
    while notifications := app.recorder.select_notifications(position, PAGE):
        for notification in notifications:
            app.mapper.to_domain_event(notification)
        decoded += len(notifications)
        position = notifications[-1].id + 1
    elapsed = time.perf_counter() - start
    app.close()
    return elapsed


def measure(runs: int, events: int, factor: int = 10) -> dict:
    """Rebuild from `events` events, then (factor > 1) from `factor` times as many."""
    count = seed_ordinal(events)
    seed_eventsourcing(count)
    results = {f"rebuild_{count}": _compare(runs, count)}
    if factor > 1:
        grow_logs(factor)
        results[f"rebuild_{count * factor}"] = _compare(runs, count * factor)
    return results


def _compare(runs: int, count: int) -> dict:
    ordinal = repeat(lambda: count / ordinal_rebuild_seconds(), runs)
    baseline = repeat(lambda: count / eventsourcing_read_seconds(), runs)
    return {
        "events": count,
        "ordinal_events_per_s": ordinal,
        "ordinal_seconds_median": count / ordinal["median"],
        "baseline_eventsourcing_read_decode_per_s": baseline,
        "ratio": ordinal["median"] / baseline["median"],
        "target": ">= 1.5" + ("; 1M in < 15 s" if count >= 1_000_000 else ""),
    }
