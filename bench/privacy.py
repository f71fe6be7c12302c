"""Crypto-shredding's cost: append and rebuild with personal fields sealed and in clear.

The goal (DESIGN §12): placing an order with a shipping address sealed under the
customer's data key within 10% of the same in clear, and rebuilding the order_view read
model (the projection that opens personal fields) within 25%.

- Append: PlaceOrder commands with an address (name, line1, city, country), over 200
  customers, dispatched one by one on the real command bus (`config.bootstrap`, one
  transaction per command), once with the real sealer (`DataKeys`) and once with
  `ClearText()`, interleaved (blocks of 50 commands: sealed, clear, no address,
  sealed, ...) so drift hits all alike. The third variant, PlaceOrder with no address,
  is context. Every customer has placed an order before the timed runs (their data key
  exists): the steady state. The post-commit nudge is a no-op (the same for all; it
  would only dilute the ratio).
- Rebuild: the same orders (same ids, customers, lines, addresses, times: one seeded
  random generator) written to two logs, sealed and in clear, each on its own pair of
  databases; then `rebuild_projections order_view` on each in turn, interleaved (sealed
  first, then clear first, ...), each run in a fresh child process (only the rebuild is
  timed). Both rebuilt read models must hold the same rows, every address in clear, or
  the run fails.

Run by `bench.run` (item 11), or alone: `python -m bench.privacy --runs 3` prints JSON.
Its databases (six, named from BENCH_PRIVACY_DB) are recreated and dropped after.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from .stats import summarise

ROOT = Path(__file__).resolve().parent.parent
PREFIX = os.environ.get("BENCH_PRIVACY_DB", "ordinal_bench_privacy")
PAIRS = {
    variant: (f"{PREFIX}_{variant}_write", f"{PREFIX}_{variant}_read")
    for variant in ("append", "sealed", "clear")
}
APPEND_CUSTOMERS = 200
BLOCK = 50  # commands of one variant before the next variant's turn
REBUILD_CUSTOMERS = 2000
RECORDED_AT = datetime(2026, 1, 1, tzinfo=UTC)  # one instant, so both logs are equal
CHUNK = 5000
READ_MODEL = "orders_read_orderview"
READ_MODEL_COLUMNS = (
    "order_id, customer_id, status, currency, items, item_count, total, shipping_address, "
    "redacted, tracking_number, placed_at, placed_position, updated_at, shipped_at, "
    "cancelled_at, version"
)


def address(customer: int) -> dict[str, str]:
    return {
        "name": f"Customer {customer}",
        "line1": f"Storgata {customer % 97 + 1}",
        "city": "Oslo",
        "country": "NO",
    }


# --- Append (one child process) -------------------------------------------------------


def _no_nudge(position: int) -> None:
    """The post-commit nudge, left out: the same for every variant."""


def _bus(sealer):
    """The command bus as `config.bootstrap` builds it, its orders sealed by `sealer`."""
    from django.conf import settings

    from config.bootstrap import bootstrap
    from eventlog.personal import DataKeys
    from orders_write.customers import UserAccountCustomers
    from orders_write.repository import EventLogCustomerRepository, EventLogOrderRepository

    return bootstrap(
        orders=EventLogOrderRepository(sealer=sealer),
        customers=UserAccountCustomers(),
        customer_records=EventLogCustomerRepository(),
        data_keys=DataKeys(),
        nudge=_no_nudge,
        command_attempts=settings.ORDINAL_COMMAND_RETRIES,
        read_wait_seconds=settings.ORDINAL_READ_WAIT_SECONDS,
    ).commands


def _commands(count: int, with_address: bool) -> list:
    """PlaceOrder commands, each sent by its customer, round-robin over the customers."""
    from orders_write.commands import Actor, Context, PlaceOrder
    from orders_write.domain.values import Line

    made = []
    for i in range(count):
        n = i % APPEND_CUSTOMERS
        customer = f"customer-{n}"
        command = PlaceOrder(
            order_id=uuid.uuid4(),
            customer_id=customer,
            currency="EUR",
            items=(Line("MUG-01", 2, Decimal("9.50")),),
            shipping_address=address(n) if with_address else None,
        )
        made.append((command, Context(actor=Actor(customer))))
    return made


def _dispatch_seconds(bus, commands: list) -> float:
    start = time.perf_counter()
    for command, context in commands:
        bus.dispatch(command, context)
    return time.perf_counter() - start


def append_run(runs: int, count: int, profile: str | None = None) -> dict:
    """Commands/s of PlaceOrder sealed, in clear and with no address, interleaved.

    Each run sends `count` commands per variant in blocks of BLOCK, the variants taking
    turns block by block, so a slower spell of the (shared) machine hits all alike.
    """
    from . import setup

    setup.configure(*PAIRS["append"])
    from eventlog.personal import DataKeys
    from orders_write.repository import ClearText

    sealed, clear = _bus(DataKeys()), _bus(ClearText())
    variants = {
        "sealed": (sealed, True),
        "clear": (clear, True),
        "no_address": (sealed, False),  # nothing to seal: the sealer returns the data
    }
    for bus, with_address in variants.values():  # warm-up: every customer's key exists
        _dispatch_seconds(bus, _commands(APPEND_CUSTOMERS, with_address))
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        spent = dict.fromkeys(variants, 0.0)
        for block in range(0, count, BLOCK):
            size = min(BLOCK, count - block)
            for name, (bus, with_address) in variants.items():
                spent[name] += _dispatch_seconds(bus, _commands(size, with_address))
        for name, seconds in spent.items():
            rates[name].append(count / seconds)
    _check_appended(runs * count + APPEND_CUSTOMERS)
    if profile:
        _profile(profile, lambda: _dispatch_seconds(sealed, _commands(count, True)))
    result = {name: summarise(values) for name, values in rates.items()}
    return {
        "commands_per_run": count,
        "block": BLOCK,
        "customers": APPEND_CUSTOMERS,
        "sealed_commands_per_s": result["sealed"],
        "clear_commands_per_s": result["clear"],
        "no_address_commands_per_s": result["no_address"],
        "ratio": result["sealed"]["median"] / result["clear"]["median"],
        "ratio_no_address": result["no_address"]["median"] / result["clear"]["median"],
    }


def _check_appended(per_variant: int) -> None:
    """Refuse a run whose sealed orders hold an address in clear, or whose clear ones don't."""
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE data ? '_personal' AND NOT data ? 'shipping_address'),"
            " count(*) FILTER (WHERE data->'shipping_address'->>'line1' IS NOT NULL"
            "   AND NOT data ? '_personal'),"
            " count(*) FILTER (WHERE data->'shipping_address' = 'null'::jsonb)"
            " FROM eventlog_event WHERE type = 'OrderPlaced'"
        )
        found = cursor.fetchone()
    if list(found) != [per_variant] * 3:
        raise RuntimeError(
            f"Orders sealed / in clear / with no address: {found}, not {per_variant}"
        )


# --- Rebuild (one child process per step) ---------------------------------------------


def _seed_keys():
    """The real sealer, each owner's key looked up once: for seeding only (not timed)."""
    from eventlog.personal import DataKeys

    class SeedKeys(DataKeys):
        def __init__(self) -> None:
            super().__init__()
            self.found: dict[str, tuple[str, bytes]] = {}

        def key_for(self, owner: str) -> tuple[str, bytes]:
            if owner not in self.found:
                self.found[owner] = super().key_for(owner)
            return self.found[owner]

    return SeedKeys()


def seed(variant: str, events: int) -> int:
    """Write about `events` order events made by the aggregate, sealed or in clear.

    The same seeded generator for both variants: the same orders, event for event.
    Each order: placed (3 lines and an address), an item added, a quantity changed, an
    item removed, then shipped or cancelled (one OrderPlaced in five events). Then the
    order_view projection is built once (untimed), so every timed run is a rebuild.
    """
    from . import setup

    setup.configure(*PAIRS[variant])
    from django.db import connections, transaction

    from eventlog.models import Event
    from orders_read import rebuilds
    from orders_write.domain.model import Order
    from orders_write.domain.values import Line
    from orders_write.repository import ClearText, stored

    rng = random.Random(1)
    sealer = _seed_keys() if variant == "sealed" else ClearText()
    rows: list[Event] = []
    count = 0

    def write() -> None:
        with transaction.atomic(using="default"):
            Event.objects.bulk_create(rows)
        rows.clear()

    while count < events:
        stream_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        order = Order(str(stream_id))
        customer = rng.randrange(REBUILD_CUSTOMERS)
        skus = rng.sample(range(500), 3)
        order.place(
            f"customer-{customer}",
            rng.choice(["EUR", "USD"]),
            [
                Line(f"SKU-{s}", rng.randint(1, 5), Decimal(rng.randint(1, 9999)) / 100)
                for s in skus
            ],
            address(customer),
        )
        order.add_item(f"SKU-{rng.randrange(500, 600)}", 2, Decimal("3.50"))
        order.change_quantity(f"SKU-{skus[0]}", 7)
        order.remove_item(f"SKU-{skus[1]}")
        order.ship("T-1") if rng.random() < 0.7 else order.cancel("bench")
        for version, event in enumerate(stored(order.pending, stream_id, sealer), start=1):
            rows.append(
                Event(
                    stream_type="order",
                    stream_id=stream_id,
                    version=version,
                    type=event.type,
                    data=event.data,
                    metadata={"actor": "bench"},
                    recorded_at=RECORDED_AT,
                    schema_version=event.schema_version,
                )
            )
        count += len(order.pending)
        if len(rows) >= CHUNK:
            write()
    write()
    with connections["default"].cursor() as cursor:
        cursor.execute("VACUUM ANALYZE eventlog_event")
    rebuilds.projections_rebuild(["order_view"])
    connections.close_all()
    return count


def rebuild_once(variant: str, profile: str | None = None) -> float:
    """Seconds to rebuild the order_view read model from the variant's log."""
    from . import setup

    setup.configure(*PAIRS[variant], fresh=False)
    from django.db import connections

    from orders_read import rebuilds

    connections["default"].ensure_connection()  # as a worker would have: not timed
    connections["read"].ensure_connection()
    if profile:
        _profile(profile, lambda: rebuilds.projections_rebuild(["order_view"]))
        return 0.0
    start = time.perf_counter()
    rebuilds.projections_rebuild(["order_view"])
    elapsed = time.perf_counter() - start
    connections.close_all()
    return elapsed


def _profile(out: str, action) -> None:
    """Profile one call with pyinstrument; write the text tree to `out`."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    action()
    profiler.stop()
    Path(out).write_text(profiler.output_text(unicode=False, color=False))


def _read_model(variant: str) -> tuple[int, int, str]:
    """Rows, rows with an address in clear, and a digest of every row of the read model."""
    import psycopg

    from .setup import PG

    with psycopg.connect(f"{PG}/{PAIRS[variant][1]}") as conn:
        return conn.execute(
            f"SELECT count(*), count(*) FILTER (WHERE shipping_address->>'line1' IS NOT NULL "
            f"AND NOT redacted), md5(string_agg(row({READ_MODEL_COLUMNS})::text, '|' "
            f"ORDER BY order_id)) FROM {READ_MODEL}"
        ).fetchone()


def _log_sealed(variant: str) -> tuple[int, int]:
    """How many OrderPlaced events of the log hold an envelope, and an address in clear."""
    import psycopg

    from .setup import PG

    with psycopg.connect(f"{PG}/{PAIRS[variant][0]}") as conn:
        return conn.execute(
            "SELECT count(*) FILTER (WHERE data ? '_personal'), "
            "count(*) FILTER (WHERE data ? 'shipping_address') "
            "FROM eventlog_event WHERE type = 'OrderPlaced'"
        ).fetchone()


def check_same_rows() -> dict:
    """Refuse the comparison unless both logs and read models are what they claim."""
    sealed, clear = _read_model("sealed"), _read_model("clear")
    orders = sealed[0]
    if sealed != clear or sealed[1] != orders or not orders:
        raise RuntimeError(f"Read models differ (rows, with address, digest): {sealed} {clear}")
    if _log_sealed("sealed") != (orders, 0) or _log_sealed("clear") != (0, orders):
        raise RuntimeError("The sealed log holds addresses in clear, or the clear one sealed.")
    return {"orders": orders, "rows_equal": True, "addresses_in_clear": sealed[1]}


# --- The parent: run the children, interleaved ----------------------------------------


def _child(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.privacy", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode:
        raise RuntimeError(f"bench.privacy {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(runs: int, count: int, events: int) -> dict:
    """Item 11: append and rebuild, sealed against clear; databases dropped after."""
    from . import setup

    try:
        append = _child("append", "--runs", str(runs), "--count", str(count))
        seeded = {
            v: _child("seed", v, "--events", str(events))["events"] for v in ("sealed", "clear")
        }
        if seeded["sealed"] != seeded["clear"]:
            raise RuntimeError(f"The two logs differ in length: {seeded}")
        seconds: dict[str, list[float]] = {"sealed": [], "clear": []}
        for run in range(runs):
            # Sealed first, then clear first, and so on: a drift favours neither.
            for variant in ("sealed", "clear") if run % 2 == 0 else ("clear", "sealed"):
                seconds[variant].append(_child("rebuild", variant)["seconds"])
            checked = check_same_rows()  # after every pair of rebuilds
    finally:
        setup.drop(*(name for pair in PAIRS.values() for name in pair))
    n = seeded["sealed"]
    rates = {v: summarise([n / s for s in values]) for v, values in seconds.items()}
    return {
        "privacy": {
            "append": {**append, "target": "sealed >= 0.90 x clear (within 10%)"},
            "rebuild": {
                "events": n,
                "customers": REBUILD_CUSTOMERS,
                "projection": "order_view",
                "sealed_events_per_s": rates["sealed"],
                "clear_events_per_s": rates["clear"],
                "sealed_seconds_median": n / rates["sealed"]["median"],
                "clear_seconds_median": n / rates["clear"]["median"],
                "ratio": rates["sealed"]["median"] / rates["clear"]["median"],
                "target": "sealed >= 0.75 x clear (within 25%)",
                "check": checked,
            },
            "runs": runs,
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step")
    appending = steps.add_parser("append")
    appending.add_argument("--runs", type=int, default=3)
    appending.add_argument("--count", type=int, default=1000)
    appending.add_argument("--profile", help="profile one more sealed run into this file")
    seeding = steps.add_parser("seed")
    seeding.add_argument("variant", choices=["sealed", "clear"])
    seeding.add_argument("--events", type=int, default=100_000)
    rebuilding = steps.add_parser("rebuild")
    rebuilding.add_argument("variant", choices=["sealed", "clear"])
    rebuilding.add_argument("--profile", help="profile the rebuild into this file (untimed)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    if args.step == "append":
        print(json.dumps(append_run(args.runs, args.count, args.profile)))
    elif args.step == "seed":
        print(json.dumps({"events": seed(args.variant, args.events)}))
    elif args.step == "rebuild":
        print(json.dumps({"seconds": rebuild_once(args.variant, args.profile)}))
    else:
        print(json.dumps(measure(args.runs, args.count, args.events), indent=2))


if __name__ == "__main__":
    main()
