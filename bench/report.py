"""Turn bench/results.json into the markdown of docs/BENCHMARKS.md."""

from . import async_commands, partitions
from .stats import spread


def _rows(r: dict) -> list[tuple[str, str, str, str, str]]:
    rows = []
    if "append_single_writer" in r:
        a = r["append_single_writer"]
        rows.append(
            (
                "1. append, 1 event/tx, 1 writer (events/s)",
                spread(a["ordinal_events_per_s"]),
                "raw psycopg INSERT: " + spread(a["baseline_raw_insert_per_s"]),
                f"{a['ratio']:.2f}",
                a["target"],
            )
        )
        a = r["append_four_writers"]
        baseline = "Ordinal 1 writer: " + spread(a["baseline_single_writer_per_s"])
        if "raw_ratio" in a:
            baseline += f" (raw INSERT, 4 writers / 1: {a['raw_ratio']:.2f})"
        rows.append(
            (
                "2. append, 4 writers (events/s, total)",
                spread(a["ordinal_events_per_s"]),
                baseline,
                f"{a['ratio']:.2f}",
                a["target"],
            )
        )
    if "command_http_create_order" in r:
        c = r["command_http_create_order"]
        rows.append(
            (
                "3. POST /api/orders/ over HTTP (req/s)",
                spread(c["ordinal_requests_per_s"]),
                "DRF ModelViewSet create: " + spread(c["baseline_drf_modelviewset_per_s"]),
                f"{c['ratio']:.2f}",
                c["target"],
            )
        )
    for key, value in r.items():
        if key.startswith("rebuild_"):
            rows += _rebuild_rows(value)
    if "projection_lag" in r:
        lag = r["projection_lag"]
        rows.append(
            (
                f"5. projection lag at {lag['commands_per_s']['median']:.0f} commands/s, "
                "p50 / p99 ms",
                spread(lag["lag_p50_ms"], 1) + " / " + spread(lag["lag_p99_ms"], 1),
                "none (target only)",
                "-",
                lag["target"],
            )
        )
    for key, label in (
        ("query_get_one_order", "6. GET one order, p50 ms"),
        ("query_list_page", "6. GET list page (20), p50 ms"),
    ):
        if key in r:
            q = r[key]
            rows.append(
                (
                    label,
                    spread(q["ordinal_p50_ms"], 2),
                    "DRF over joined write tables: " + spread(q["baseline_p50_ms"], 2),
                    f"{q['ratio']:.2f}",
                    q["target"],
                )
            )
    if "query_list_page_scaling" in r:
        q = r["query_list_page_scaling"]
        small, large = q["orders"]
        rows.append(
            (
                f"6. GET list page (20) at {large:,} orders, p50 ms",
                spread(q["p50_ms_large"], 2),
                f"Ordinal at {small:,} orders: " + spread(q["p50_ms_small"], 2),
                f"{q['ratio']:.2f}",
                q["target"],
            )
        )
    if "query_as_of_report_scaling" in r:
        q = r["query_as_of_report_scaling"]
        small, large = q["events"]
        rows.append(
            (
                f"9. product-sales ?as_of= at {large:,} events, ms",
                spread(q["ms_large"], 2),
                f"Ordinal at {small:,} events: " + spread(q["ms_small"], 2),
                f"{q['ratio']:.2f}",
                q["target"],
            )
        )
    if "privacy" in r:
        rows += _privacy_rows(r["privacy"])
    if "replica_reads" in r:
        rows += _replica_rows(r["replica_reads"])
    if "async_commands" in r:
        rows += async_commands.rows(r["async_commands"])
    if "partitions_catch_up" in r:
        rows += partitions.rows(r["partitions_catch_up"])
    return rows


def _replica_rows(p: dict) -> list[tuple[str, str, str, str, str]]:
    """Item 12: queries through a streaming replica against the read database."""
    rows = []
    for key, label in (("get_one_order", "GET one order"), ("list_page", "GET list page")):
        entry = p[key]
        rows.append(
            (
                f"12. {label} through a replica (req/s)",
                spread(entry["replica_rps"]),
                "the read database: " + spread(entry["primary_rps"]),
                f"{entry['ratio_rps']:.2f}",
                "about 1.0 (a replica adds its capacity)",
            )
        )
    entry = p["read_your_writes"]
    rows.append(
        (
            "12. read-your-writes through a replica, p50 ms",
            spread(entry["replica_p50_ms"], 1),
            "the read database: " + spread(entry["primary_p50_ms"], 1),
            f"{entry['ratio_p50_ms']:.2f}",
            "about 1.0",
        )
    )
    return rows


def _privacy_rows(p: dict) -> list[tuple[str, str, str, str, str]]:
    """Item 11: placing an order and rebuilding order_view, sealed against in clear."""
    a, b = p["append"], p["rebuild"]
    return [
        (
            "11. PlaceOrder with an address, sealed, 1 writer (commands/s)",
            spread(a["sealed_commands_per_s"]),
            "the same in clear: " + spread(a["clear_commands_per_s"]),
            f"{a['ratio']:.2f}",
            a["target"],
        ),
        (
            f"11. rebuild order_view, {b['events']:,} events, sealed log (events/s; "
            f"{b['sealed_seconds_median']:.1f} s)",
            spread(b["sealed_events_per_s"]),
            "the same log in clear: " + spread(b["clear_events_per_s"]),
            f"{b['ratio']:.2f}",
            b["target"],
        ),
    ]


def _rebuild_rows(value: dict) -> list[tuple[str, str, str, str, str]]:
    """Item 4: one rebuild against the library's read+decode, its projection runner (the
    peer) and a set-based SQL replay (the ceiling), one row each."""
    ordinal, targets = spread(value["ordinal_events_per_s"]), value["targets"]
    peer, peer_events = value["baseline_eventsourcing_projection_per_s"], value["peer_events"]
    rows = [
        (
            f"4. rebuild all read models, {value['events']:,} events (events/s; "
            f"{value['ordinal_seconds_median']:.1f} s)",
            ordinal,
            "eventsourcing read+decode: "
            + spread(value["baseline_eventsourcing_read_decode_per_s"]),
            f"{value['ratio']:.2f}",
            targets["read_decode"],
        )
    ]
    if peer is not None:
        short = f", its first {peer_events:,} events" if peer_events < value["events"] else ""
        rows.append(
            (
                "4. the same rebuild, against the peer",
                ordinal,
                f"eventsourcing projection runner{short}: {spread(peer)}",
                f"{value['ratio_peer']:.2f}",
                targets["peer"],
            )
        )
    else:
        rows.append(
            (
                "4. the same rebuild, against the peer",
                ordinal,
                "eventsourcing projection runner: as above (the same first events)",
                "-",
                targets["peer"],
            )
        )
    rows.append(
        (
            "4. the same rebuild, against the ceiling",
            ordinal,
            "set-based SQL replay: " + spread(value["baseline_sql_replay_per_s"]),
            f"{value['ratio_ceiling']:.2f}",
            targets["ceiling"],
        )
    )
    return rows


def table(r: dict) -> str:
    lines = [
        "| measure | Ordinal median (min-max) | baseline median (min-max) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(r)]
    if "aggregate_load" in r:
        lines += [
            "",
            "| 7. aggregate load, events in stream | median ms | us per event |",
            "|---|---|---|",
        ]
        lines += [
            f"| {n} | {v['median_ms']:.2f} | {v['us_per_event']:.1f} |"
            for n, v in r["aggregate_load"].items()
        ]
    if "aggregate_load_snapshots" in r:
        lines += ["", *_snapshot_rows(r["aggregate_load_snapshots"])]
    return "\n".join(lines)


def _snapshot_rows(s: dict) -> list[str]:
    """Item 8: one long order loaded with and without its snapshot, beside a 10-event one."""
    n, every = f"{s['events']:,}", s["snapshot_every"]
    return [
        f"| 8. aggregate load with snapshots (every {every} events) | median ms (min-max) "
        "| ratio to the 10-event load | target |",
        "|---|---|---|---|",
        f"| {n}-event order, snapshot at its head | {spread(s['with_snapshot_ms'], 2)} "
        f"| {s['ratio_with_vs_ten_events']:.2f} | {s['target']} |",
        f"| {n}-event order, snapshots not used | {spread(s['without_snapshot_ms'], 2)} "
        f"| {s['without_snapshot_ms']['median'] / s['ten_events_ms']['median']:.2f} "
        f"| with/without: {s['ratio_with_vs_without']:.3f} |",
        f"| {s['events'] - 1:,}-event order, snapshot {every - 1} events behind (worst case) "
        f"| {spread(s['worst_case_ms'], 2)} | {s['ratio_worst_case_vs_ten_events']:.2f} | - |",
        f"| 10-event order, no snapshot | {spread(s['ten_events_ms'], 2)} | 1.00 | - |",
    ]


def online_rebuild(r: dict) -> str:
    """Item 10: read-your-writes and query answers before and during a blue/green rebuild."""
    if "online_rebuild" not in r:
        return ""
    o = r["online_rebuild"]
    phases = (("baseline, no rebuild", o["baseline"]), ("during the rebuild", o["during_rebuild"]))
    lines = [
        f"## 10. Rebuild while serving ({o['events']:,} events)",
        "",
        "| phase | seconds | commands (per s) | read-your-writes p50 / p95 / p99 / max ms "
        "| answers checked | incomplete | 5xx (not 503) | 503 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, p in phases:
        ms = " / ".join(
            "-" if p["read_your_writes_ms"][k] is None else f"{p['read_your_writes_ms'][k]:,.0f}"
            for k in ("p50", "p95", "p99", "max")
        )
        lines.append(
            f"| {label} | {p['seconds']:.1f} | {p['commands']} ({p['commands_per_s']:.1f}) "
            f"| {ms} | {p['query_answers_checked']} | {p['incomplete_answers']} "
            f"| {p['status_5xx_not_503']} | {p['status_503']} |"
        )
    d = o["during_rebuild"]
    ratio = "-" if o["p99_ratio"] is None else f"{o['p99_ratio']:.2f}"
    lines += [
        "",
        f"The rebuild (`manage.py rebuild_projections --no-progress`, a subprocess) read "
        f"{d['rebuild_events']:,} events in {d['rebuild_seconds']:.1f} s "
        f"({d['rebuild_events_per_s']:,.0f} events/s; {d['rebuild_builder_seconds']:.1f} s "
        f"from the builder's start to its last swap) and swapped {d['rebuild_swapped']} read "
        f"models in, {d['rebuild_swaps_at_s'][0]:.1f}-{d['rebuild_swaps_at_s'][1]:.1f} s after "
        f"it started; the slowest command was sent {d['slowest_sent_at_s']:.1f} s after. "
        f"p99 read-your-writes during the rebuild / baseline p99: {ratio}. "
        f"Wrong answers (more than the log holds): {o['baseline']['wrong_answers']} / "
        f"{d['wrong_answers']}; every read model exact once the loops stopped: "
        f"{o['baseline']['final_answers_exact'] and d['final_answers_exact']}.",
        "",
        f"Setup: {o['setup']}. Read-your-writes latency: from sending `POST /api/orders/` to "
        "the `GET /api/orders/{id}/?min_position=<its position>` answering 200 (asked again "
        "after a 503). Queries (staff): the sales report, the commands' customer and a seeded "
        "customer in turn; an answer is incomplete if it is a 404, holds fewer of the orders "
        "placed than its `X-Read-Position` covers (checked against the log after the phase) "
        "or less than the answer before it, or (seeded customer) differs at all. Only what was "
        f"sent while the rebuild ran counts in its row. Target: {o['target']}.",
    ]
    return "\n" + "\n".join(lines) + "\n"


def _refreshed(r: dict) -> str:
    """Say which items `--only` runs re-measured into an earlier full run's figures."""
    refreshed = r.get("refreshed")
    if not refreshed:
        return ""
    names = {
        "append": "1 and 2 (append)",
        "rebuild": "4 (rebuild)",
        "online": "10 (rebuild while serving)",
        "privacy": "11 (crypto-shredding)",
        "replica": "12 (reads through a replica)",
        "async": "13 (asynchronous commands)",
        "partitions": "14 (catch-up by 1, 2 and 4 workers on 4 partitions)",
    }
    lines = []
    for done in [refreshed] if isinstance(refreshed, dict) else refreshed:
        items = " and ".join(names[item] for item in done["items"])
        lines.append(
            f"Item{'s' if len(done['items']) > 1 else ''} {items} "
            f"{'were' if len(done['items']) > 1 else 'was'} re-measured on {done['at']} by "
            f"`python -m bench.run --only {' '.join(done['items'])}` ({done['seconds']} s, "
            f"medians over {done.get('runs', r['runs'])} runs)."
        )
    return "\n".join(lines) + " Every other figure is from the full run described below.\n"


def privacy(r: dict) -> str:
    """Item 11: what crypto-shredding costs an order and a rebuild, and how it was checked."""
    if "privacy" not in r:
        return ""
    p = r["privacy"]
    a, b = p["append"], p["rebuild"]
    added_ms = (
        1000 / a["sealed_commands_per_s"]["median"] - 1000 / a["clear_commands_per_s"]["median"]
    )
    check = b["check"]
    return f"""
## 11. Crypto-shredding: sealed against clear

| measure (medians over {p["runs"]} runs, min-max) | sealed | in clear | sealed / clear | goal |
|---|---|---|---|---|
| PlaceOrder with an address (commands/s) | {spread(a["sealed_commands_per_s"])} \
| {spread(a["clear_commands_per_s"])} | {a["ratio"]:.2f} | within 10% (>= 0.90) |
| PlaceOrder with no address (commands/s; context) | - \
| {spread(a["no_address_commands_per_s"])} | {a["ratio_no_address"]:.2f} (no address / clear) | - |
| rebuild order_view, {b["events"]:,} events (events/s) | {spread(b["sealed_events_per_s"])} \
| {spread(b["clear_events_per_s"])} | {b["ratio"]:.2f} | within 25% (>= 0.75) |

Sealing adds {added_ms:.2f} ms to a command (from the medians), {1 / a["ratio"]:.2f}x its \
time in clear; the sealed rebuild took {b["sealed_seconds_median"]:.2f} s against \
{b["clear_seconds_median"]:.2f} s ({1 / b["ratio"]:.2f}x).

- Append: `PlaceOrder` (one line, an address with name, line1, city and country) sent by \
its customer, {a["customers"]} customers in turn, dispatched on the command bus as \
`config.bootstrap` builds it (one transaction per command; the post-commit nudge left \
out), with `EventLogOrderRepository(sealer=DataKeys())` against \
`sealer=ClearText()`; {a["commands_per_run"]:,} commands per variant and run, the \
variants taking turns every {a["block"]} commands. Every customer ordered once before \
(their data key exists: the steady state). No address: the same bus, nothing to seal.
- Rebuild: `rebuild_projections order_view` (blue/green, as item 4) in a fresh process per \
run, sealed and clear runs alternating, on two logs written from one seeded generator: \
the same {check["orders"]:,} orders ({b["customers"]:,} customers; placed with an \
address, an item added, a quantity changed, an item removed, shipped or cancelled: one \
`OrderPlaced` in five events), sealed by `DataKeys` in one, stored by `ClearText()` in \
the other. After each pair of rebuilds the run checks that the sealed log holds no \
address in clear, and that both rebuilt read models hold the same rows (an md5 of every \
column of every row), each of the {check["addresses_in_clear"]:,} addresses opened.
- Re-measure: `python -m bench.run --only privacy --runs 3`, or `python -m bench.privacy \
--runs 3` alone (prints the JSON).

What profiling found, and what changed (pyinstrument, `python -m bench.privacy append \
--profile FILE` and `rebuild sealed --profile FILE`; 2026-12-07, not regenerated by the \
run). "Before" is the code as crypto-shredding was first merged, measured by this benchmark:

- Append, before: 675 commands/s sealed against 1,269 in clear (0.53). Reading the \
customer's key took two statements per command, an `INSERT ... ON CONFLICT DO NOTHING` \
of a freshly made and wrapped key, then a queryset `get`: 0.33 of 0.74 s in the \
profile, half each. Now one plain `SELECT` reads the key row (the ORM's own work cost \
more than the round trip), and a key is made only when there is none. Left: 0.23 of \
0.54 s, all but 0.02 s of it that statement (it also carries the transaction's \
`BEGIN`, which in clear the `INSERT` carries); AES-GCM, orjson and base64 stay under 1%. \
So the 10% goal is missed by one round trip per order. Removing it would mean keeping \
data keys in the processes' memory, where a destroyed key would outlive \
`ForgetCustomer` and a forgotten customer's new order could still be sealed: not done.
- Rebuild, before: 59,590 events/s sealed against 73,395 in clear (0.81). Opening the \
events took 0.37 s of 2.87 s in the profile (7.4 us per opened event without it: each \
stream id rebuilt as a UUID, base64's wrapper, a dict comprehension per event), and \
the `Opener`'s key lookup (0.14 s) built a model instance per key, about 1,300 per \
10,000 events. Now the stream id is used as read, `binascii` decodes, the data is \
copied once and key rows are read as tuples: opening 0.17 s of 1.91 s (4.2 us per \
event), the lookup 0.11 s (in clear 0.08 s: its query for forgotten owners). Left: \
that, and the sealed log's larger rows (the base64 envelope: reading and decoding the \
log 0.37 s against 0.35 s); the projector's own work is the same.
"""


def markdown(r: dict) -> str:
    m = r["machine"]
    return f"""# Benchmarks

Produced by `python -m bench.run` (see `bench/run.py`); raw figures in `bench/results.json`.
{_refreshed(r)}
Every Ordinal figure is compared with a baseline measured in the same run, on the same
machine and databases. Medians over {r["runs"]} runs, min-max in brackets.

Machine: {m["cpus"]} CPUs ({m["cpu_model"]}), {m["memory"]} RAM, {m["platform"]};
PostgreSQL {m["postgres"]} (write and read databases on the same server), Redis {m["redis"]},
Python {m["python"]}. Whole run: {r["wall_seconds"]:.0f} s. Django runs with DEBUG off,
throttling off, gunicorn with 2 sync workers and persistent connections (CONN_MAX_AGE=600).

{table(r)}

Ratios: for rates, Ordinal / baseline (higher is better); for latencies (item 6),
Ordinal p50 / baseline p50 (lower is better).

## What each line measures

1. `eventlog.store.append` of one event per transaction (the guarded INSERT with its
   version check, in autocommit: one statement) against one autocommit `INSERT` of an
   equivalent row with psycopg. Each run measures both (and item 2's four), in turns.
2. The same appends from 4 processes at once, against the single-writer figure, beside
   raw INSERTs' own scaling from 1 to 4 processes on the same machine. No global lock
   (design (b), DESIGN §14): writers meet only on the same stream.
3. `POST /api/orders/` (two lines; Redis broker, no worker running, so the enqueue is
   counted but no projection runs) against a DRF `ModelViewSet` create of an order and
   its lines in normalized tables (`bench/baseline/`), on the same gunicorn and write DB.
   wrk, 2 threads, 8 connections.
4. `rebuild_projections` of every projection (order_view, customer_summary,
   product_sales, daily_sales, in one pass over the log; blue/green: new tables beside
   the live ones, indexed, swapped in) from a log of realistic order events made by
   the aggregate, against three baselines on the same events (the library's log is a copy
   of Ordinal's, recorded through an `eventsourcing` aggregate with the same event data;
   `bench/es_model.py`). Read+decode: the `eventsourcing` 9.5.6 PostgreSQL recorder paging
   its notification log (1,000 per page) and decoding each event into a domain event. The
   peer: the library's `ProjectionRunner` building the same three read models (tables
   made `LIKE` Ordinal's) on the read database, as its documentation shows: a
   `Projection` calling a `PostgresTrackingRecorder` subclass that writes the rows and the
   tracking record in one transaction per event (`bench/peer.py`); it commits once per
   event, so it is timed from empty views over the first events of the log only (the
   number shown), and not again on the grown log, which starts with the same events. The
   ceiling: three `INSERT ... SELECT` statements (jsonb functions, `GROUP BY`, window
   functions) building the same rows into empty copies of the read-model tables in one
   transaction on the read database, after a binary `COPY` of Ordinal's log from the write
   database into a temporary table there (timed too; `work_mem` 256MB, JIT off;
   `bench/ceiling.py`).
   Each run checks that the ceiling's rows equal Ordinal's rebuilt read models, and the
   peer's too (but for its own timestamps), or the SQL replay's of the same events when it
   stopped short. Neither baseline takes Ordinal's projection snapshots (for `as_of`),
   which the rebuild does. The larger logs (both) are the first ones copied in SQL under
   new stream ids.
5. A steady `POST /api/orders/` load (wrk, 20 connections each pausing between requests,
   aiming at 200/s; the rate reached is shown) with Redis and one Celery worker (prefork,
   2 processes, persistent connections) projecting. Lag of an event = the first time
   every checkpoint covers its position (the read DB polled every ~5 ms) minus its
   `recorded_at`. Web, worker, PostgreSQL, wrk and the poller share the 2 cores.
6. GET one order and the first list page (20) from the read model, against the same
   from the baseline's joined tables (`prefetch_related` lines), wrk as in 3. Then the
   first list page with the read model cut to its newest 10k orders, then filled
   (synthetic rows inserted by SQL) to 1M. With 8 connections on 2
   workers, p50 is mostly queueing (about 8 / requests per second), so these latencies
   move by 20-50% between runs; compare the ratios, not the milliseconds.
7. Loading an order (`orders.get`) whose stream has 10, 100 and 1,000 events (median of 20),
   replaying the whole stream (snapshots not read).
8. The same 1,000-event order loaded from its snapshot (taken at event 1,000, the load
   reads it and one event) and from all its events, a 999-event order whose newest
   snapshot is at event 900 (99 events to apply: the worst case), and a 10-event order;
   each repeat times all four in turn. Ratios are of medians.
9. The sales report `?as_of=` (query handler and serializer, in process; median of 50
   instants spread over the log, per run) on a log of 10k events, then the same log grown
   in SQL to 1M (copies under new stream ids, `recorded_at` increasing) and rebuilt (which
   takes the projection snapshots). Each answer is one snapshot read (every SKU) plus a
   replay of at most `ORDINAL_PROJECTION_SNAPSHOT_EVERY` (1,000) events, so the ratio
   should stay near 1.0. Its own databases, in a child process (`bench/asof.py`).

## What profiling found, and what changed (2026-11-23, not regenerated by the run)

- **Rebuild (item 4).** Before: each projection replayed the log on its own (three
  reads), through Django model instances, `bulk_create(update_conflicts=True)` (Django
  sends one array per column and psycopg quotes the jsonb arrays element by element),
  Django's text loaders for `timestamptz` and `jsonb`, and `json.loads` of data and
  metadata; 100k events rebuilt at 3,871 events/s on a quiet machine (3,494 in the
  previous report). cProfile then showed, in turn: row building and upserts, JSON and
  timestamp decoding, and full garbage collections walking the rows held (a third of the
  time once the rest was fixed). Now a rebuild reads the log once for all projections in
  pages of 10,000 with a binary-result psycopg cursor (C loaders for uuid and
  `timestamptz`, JSON text handed to the C scanner, metadata not read), keeps rows as
  plain dicts in memory (up to 500,000 per projection), writes them with `COPY` into a
  temporary table and one `INSERT ... ON CONFLICT`, and pauses the cyclic collector.
  The same code (bar the memory) serves every catch-up batch. Top remaining cost, in
  order: decoding each event's JSON, the projectors' Python (one dict update per event
  and read model, `Decimal` arithmetic), and the 2 cores being shared with PostgreSQL.
- **Projection lag (item 5).** First runs gave seconds of lag at ~80-100 commands/s.
  py-spy on the worker: half of its time in opening and closing database connections,
  because Celery's Django fixup closes every connection after each task unless
  `CELERY_DB_REUSE_MAX` is set. Workers now keep their connections and run Django's
  `close_old_connections` around each task (as around a request). Also, each command used
  to queue four tasks (a fan-out and one per projection); its nudge is now one task that
  carries the command's position and skips projections already past it, and a catch-up no
  longer ends with an empty batch. A single 8 s run at ~130 commands/s then gave p50 72 ms,
  p99 170 ms (from p50 2.7 s / p99 4.0 s just before the connection fix).
- **Append (items 1, 2).** Until design (b), four round trips per append (BEGIN,
  `pg_advisory_xact_lock`, the conditional INSERT, COMMIT), and four writers queued on
  the lock: 1.24x one writer. Design (b) dropped the lock; an append outside a
  transaction is one statement; and profiling (pyinstrument, then the same statement
  timed on a plain psycopg connection and on Django's) showed half of what was left was
  the server parsing and planning each append anew, since Django turns prepared
  statements off: the log's own cursors now prepare theirs (`ORDINAL_PREPARED_STATEMENTS`).
  On this machine the commit's disk flush varies widely from run to run (a raw INSERT
  alone ranged 3,462-5,389/s in one run); over repeated `--only append` runs the item 1
  ratio came out between 0.49 and 0.89 and item 2 between 1.41 and 2.04.
- **HTTP GET (item 6).** Per request the read path costs the token lookup, one
  checkpoint query (for `X-Read-Position`) and the row; DRF's `ModelSerializer` field
  construction is the largest Python cost on both sides.
{online_rebuild(r)}{privacy(r)}{async_commands.section(r)}{partitions.section(r)}"""
