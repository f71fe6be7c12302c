"""Racing writers never make a snapshot disagree with the log.

Threads, each with its own database connection, send commands to the same few
orders across many snapshot boundaries (a snapshot every 3 events) while a watcher
thread keeps reading the snapshot table (and each writer reads it after each of its
commands). Every snapshot seen, and every one left at the end, must equal the state
folded from the log up to the snapshot's version. On PostgreSQL the writers really
overlap; on SQLite (IMMEDIATE transactions) they queue, and the same must hold.
"""

import threading
import uuid
from decimal import Decimal

import pytest

from config.bootstrap import command_bus
from eventlog import store
from orders_write import commands
from orders_write.domain.events import event_from
from orders_write.domain.model import Order
from orders_write.domain.values import Line
from orders_write.models import OrderSnapshot
from tests.threads import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "read"])

WRITERS, ORDERS, ROUNDS = 6, 2, 4
STAFF = commands.Context(actor=commands.Actor("stella", is_staff=True))


def folded(stream_id: uuid.UUID, version: int) -> dict:
    """The state the log gives the order at `version`, as a snapshot would hold it."""
    events = store.read_stream(stream_id)[:version]
    assert [e.version for e in events] == list(range(1, version + 1))
    return Order.from_events(
        str(stream_id), (event_from(e.type, e.data) for e in events)
    ).snapshot()


def test_every_snapshot_seen_during_a_race_is_the_log_folded_to_its_version(settings, monkeypatch):
    settings.ORDINAL_SNAPSHOT_EVERY = 3
    monkeypatch.setattr("config.bootstrap.enqueue_catch_up", lambda position: None)
    bus = command_bus()
    order_ids = [uuid.uuid4() for _ in range(ORDERS)]
    for order_id in order_ids:
        bus.dispatch(
            commands.PlaceOrder(order_id, "stella", "EUR", (Line("A", 1, Decimal("1.00")),)), STAFF
        )
    writers_done = threading.Event()
    finished = []
    seen: set[tuple] = set()

    def write(n: int) -> None:
        # Each writer's own SKUs, so every command is accepted whatever the interleaving;
        # the totals each event carries still depend on every line committed before it.
        order_id = order_ids[n % ORDERS]
        try:
            for r in range(ROUNDS):
                sku = f"W{n}-{r}"
                price = Decimal(f"{n}.{r}1")
                command_bus().dispatch(commands.AddItem(order_id, sku, 1, price), STAFF)
                command_bus().dispatch(commands.ChangeItemQuantity(order_id, sku, 2 + r), STAFF)
                look()  # what a writer sees right after its own commit counts too
        finally:  # the watcher stops when every writer is done, failed or not
            finished.append(n)
            if len(finished) == WRITERS:
                writers_done.set()

    def look() -> None:
        for row in OrderSnapshot.objects.values_list("stream_id", "version", "state"):
            seen.add((row[0], row[1], _frozen(row[2])))

    def watch() -> None:
        while not writers_done.wait(0.002):
            look()

    def run(n: int):
        return watch() if n == WRITERS else write(n)

    results = run_in_threads(WRITERS + 1, run, timeout=300)

    final = {
        row[:2]: row[2]
        for row in OrderSnapshot.objects.values_list("stream_id", "version", "state")
    }
    for (stream, version), state in final.items():
        assert state == folded(stream, version)
    for stream, version, state in seen:
        assert state == _frozen(folded(stream, version)), (stream, version)
    assert results == [None] * (WRITERS + 1)
    heads = {order_id: len(store.read_stream(order_id)) for order_id in order_ids}
    assert all(head == 1 + WRITERS // ORDERS * ROUNDS * 2 for head in heads.values())
    assert {stream for stream, _ in final} == set(order_ids)
    # The newest snapshot of each order is at most one command behind its head.
    assert all(heads[stream] - version < 3 for stream, version in final)
    # Snapshots of every order were seen while the writers ran (how many depends on timing).
    assert {stream for stream, _, _ in seen} == set(order_ids)


def _frozen(value):
    # A hashable copy of a JSON value, so the watcher can keep each snapshot once.
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value
