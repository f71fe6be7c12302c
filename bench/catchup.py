"""Rebuild every read model from N events, against three baselines on the same events.

The `eventsourcing` library reading and decoding its PostgreSQL notification log; the
library's projection runner building the same read models (the peer, `bench.peer`);
and a set-based SQL replay of Ordinal's log (the ceiling, `bench.ceiling`).
"""

import random
import time

from . import ceiling, peer
from .setup import PG, READ_DB, WRITE_DB
from .stats import repeat, summarise

PAGE = 1000
# The peer is timed over the first this many events of the log (see `measure`).
PEER_EVENTS = 20_000


def seed_ordinal(events: int) -> int:
    """Append about `events` realistic order events (the real aggregate) in bulk."""
    from orders_read.management.commands.bench_catch_up import Command

    return Command().seed(events, random.Random(1))


def ordinal_rebuild_seconds() -> float:
    """Seconds to rebuild all read models in one pass over the log (rebuild_projections).

    A blue/green rebuild: new tables beside the live ones, indexed, then swapped in.
    """
    from django.db import connections

    from orders_read import rebuilds

    start = time.perf_counter()
    rebuilds.projections_rebuild()
    elapsed = time.perf_counter() - start
    connections.close_all()
    return elapsed


# One copy of every order of the log up to a position (%s), under new stream ids made
# from the copy's number (%s): the same mix of events, interleaved in the same way.
COPY_ORDERS = """
INSERT INTO eventlog_event
    (stream_type, stream_id, version, type, data, metadata, recorded_at, schema_version)
SELECT stream_type, new_id, version, type,
    jsonb_set(data, '{order_id}', to_jsonb(new_id::text)), metadata, recorded_at, schema_version
FROM (SELECT *, md5(stream_id::text || %s)::uuid AS new_id
      FROM eventlog_event WHERE position <= %s) AS original
ORDER BY position
"""


def grow_logs(factor: int) -> None:
    """Multiply both logs `factor` times in SQL: copies of every order under new ids.

    Seeding 1M events through the aggregates would take minutes; the copies keep the
    same mix of events, interleaved in the same way, each stream under a fresh id.
    """
    import psycopg

    with psycopg.connect(f"{PG}/{WRITE_DB}", autocommit=True) as conn:
        for copy in range(1, factor):
            conn.execute(COPY_ORDERS, [str(copy), _original_head(conn)])
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


def _library_env() -> dict[str, str]:
    """The library's settings: its log on the write database, the peer's views on the read."""
    user_host = PG.split("://", 1)[1]
    user, hostport = user_host.rsplit("@", 1)
    host, _, port = hostport.partition(":")
    user, _, password = user.partition(":")
    env = {}
    for prefix, dbname in (("APPLICATION", WRITE_DB), (peer.NAME.upper(), READ_DB)):
        env.update(
            {
                f"{prefix}_PERSISTENCE_MODULE": "eventsourcing.postgres",
                f"{prefix}_POSTGRES_DBNAME": dbname,
                f"{prefix}_POSTGRES_HOST": host,
                f"{prefix}_POSTGRES_PORT": port or "5432",
                f"{prefix}_POSTGRES_USER": user,
                f"{prefix}_POSTGRES_PASSWORD": password,
                f"{prefix}_CREATE_TABLE": "y",
            }
        )
    return env


def _application():
    from eventsourcing.application import Application

    return Application(env=_library_env())


def seed_eventsourcing() -> int:
    """Copy Ordinal's log into the library's, event by event, through `BenchOrder`.

    Both logs then hold the same orders (ids, SKUs, quantities, prices, totals) in the
    same order, so the peer builds the same rows as Ordinal's rebuild.
    """
    import psycopg

    from .es_model import record

    app, orders, batch, count = _application(), {}, [], 0
    with psycopg.connect(f"{PG}/{WRITE_DB}") as conn, conn.cursor(name="log") as cursor:
        cursor.itersize = 5000
        cursor.execute(
            "SELECT stream_id, type, data FROM eventlog_event WHERE stream_type = 'order' "
            "ORDER BY position"
        )
        for stream_id, kind, data in cursor:
            batch.append(app.mapper.to_stored_event(record(orders, stream_id, kind, data)))
            if len(batch) >= 5000:
                app.recorder.insert_events(batch)
                count, batch = count + len(batch), []
    if batch:
        app.recorder.insert_events(batch)
        count += len(batch)
    app.close()
    return count


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


def peer_seconds(head: int) -> float:
    """Seconds for the library's projection runner to build the read models to `head`."""
    return peer.peer_seconds(_library_env(), f"{PG}/{READ_DB}", head)


def measure(runs: int, events: int, factor: int = 10, peer_events: int = PEER_EVENTS) -> dict:
    """Rebuild from `events` events, then (factor > 1) from `factor` times as many.

    The peer commits once per event (a few hundred per second here), so it is timed over
    the first `peer_events` events of the log (0: the whole log). The grown log starts
    with the same events, so a peer that stops short of both heads is timed only once.
    """
    count = seed_ordinal(events)
    if seed_eventsourcing() != count:
        raise RuntimeError("The library's log does not hold the same events as Ordinal's.")
    ceiling.ceiling_prepare()
    peer_head = min(count, peer_events or count)
    results = {f"rebuild_{count}": _compare(runs, count, peer_head)}
    if factor > 1:
        grow_logs(factor)
        bigger = count * factor
        again = min(bigger, peer_events or bigger)
        results[f"rebuild_{bigger}"] = _compare(runs, bigger, again if again > peer_head else None)
    return results


def _compare(runs: int, count: int, peer_head: int | None) -> dict:
    """Time Ordinal's rebuild and the three baselines on a log of `count` events."""
    ordinal = repeat(lambda: count / ordinal_rebuild_seconds(), runs)
    baseline = repeat(lambda: count / eventsourcing_read_seconds(), runs)
    peer_rate = repeat(lambda: peer_head / peer_seconds(peer_head), runs) if peer_head else None
    ceiling_runs = [ceiling.ceiling_seconds() for _ in range(runs)]
    ceiling_rate = summarise([count / seconds for seconds, _ in ceiling_runs])
    _check_same_rows(count, peer_head)
    median = ordinal["median"]
    return {
        "events": count,
        "ordinal_events_per_s": ordinal,
        "ordinal_seconds_median": count / median,
        "baseline_eventsourcing_read_decode_per_s": baseline,
        "baseline_eventsourcing_projection_per_s": peer_rate,
        "peer_events": peer_head,
        "baseline_sql_replay_per_s": ceiling_rate,
        "sql_replay_transfer_seconds": summarise([transfer for _, transfer in ceiling_runs]),
        "ratio": median / baseline["median"],
        "ratio_peer": median / peer_rate["median"] if peer_rate else None,
        "ratio_ceiling": median / ceiling_rate["median"],
        "targets": {
            "read_decode": ">= 1.0" + ("; 1M in < 10 s" if count >= 1_000_000 else ""),
            "peer": ">= 3",
            "ceiling": ">= 0.5",
        },
    }


def _check_same_rows(count: int, peer_head: int | None) -> None:
    """Refuse baselines that build other rows than Ordinal's rebuild just did.

    The SQL replay is compared with Ordinal's read models. The peer too when it went to
    the head; when it stopped short, with the SQL replay of the events it processed.
    """
    differences = ceiling.rows_differing(ceiling.ceiling_tables())
    if peer_head:
        reached = peer.peer_position(f"{PG}/{READ_DB}")
        if reached >= count:
            pairs = peer.peer_tables()  # each peer table -> Ordinal's
        else:
            ceiling.ceiling_seconds(upto=reached)
            pairs = dict(zip(peer.peer_tables(), ceiling.ceiling_tables(), strict=True))
        differences |= ceiling.rows_differing(pairs, skip=peer.OWN_COLUMNS)
    if any(differences.values()):
        raise RuntimeError(f"Rows differing from Ordinal's rebuild, per table: {differences}")
