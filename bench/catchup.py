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
    """Seconds to rebuild all read models (every projection replays the whole log)."""
    from django.db import connections

    from orders_read import runner

    start = time.perf_counter()
    for name in runner.projection_names():
        runner.projection_rebuild(name)
    elapsed = time.perf_counter() - start
    connections.close_all()
    return elapsed


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


def measure(runs: int, events: int) -> dict:
    count = seed_ordinal(events)
    seed_eventsourcing(count)
    ordinal = repeat(lambda: count / ordinal_rebuild_seconds(), runs)
    baseline = repeat(lambda: count / eventsourcing_read_seconds(), runs)
    return {
        f"rebuild_{count}": {
            "events": count,
            "ordinal_events_per_s": ordinal,
            "ordinal_seconds_median": count / ordinal["median"],
            "baseline_eventsourcing_read_decode_per_s": baseline,
            "ratio": ordinal["median"] / baseline["median"],
            "target": ">= 1.5",
        }
    }
