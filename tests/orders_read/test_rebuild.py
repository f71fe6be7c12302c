"""Invariant 5: replaying the whole log into empty read models equals incremental projection."""

import contextlib
import random
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from eventlog import store
from eventlog.models import Event
from orders_read import rebuilds, runner
from orders_read.models import OrderView
from orders_write import commands
from orders_write.domain.errors import RuleViolation
from orders_write.repository import EventLogOrderRepository

from .conftest import BOTH_DATABASES, catch_up, line, place, positions, run, snapshot

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)

CUSTOMERS = ["alice", "bob", "carol"]
SKUS = [f"SKU-{n}" for n in range(8)]
PRICE = Decimal("1.25")


def random_command(rng: random.Random, kind: str, order_id) -> commands.Command:
    """Return a random command of one kind on an order (the rules may refuse it)."""
    if kind == "add":
        quantity = rng.randint(1, 4)
        return commands.AddItem(order_id, sku=rng.choice(SKUS), quantity=quantity, unit_price=PRICE)
    if kind == "change":
        return commands.ChangeItemQuantity(
            order_id, sku=rng.choice(SKUS), quantity=rng.randint(1, 9)
        )
    if kind == "remove":
        return commands.RemoveItem(order_id, sku=rng.choice(SKUS))
    if kind == "ship":
        return commands.ShipOrder(order_id, tracking_number=f"T{rng.randint(1, 99)}")
    return commands.CancelOrder(order_id, reason="random")


def random_commands(rng: random.Random, count: int) -> None:
    """Send `count` random commands (some refused by the rules), projecting now and then."""
    orders: list[tuple] = []
    for _ in range(count):
        kind = rng.choice(["place", "place", "add", "change", "remove", "ship", "cancel"])
        if kind == "place" or not orders:
            customer = rng.choice(CUSTOMERS)
            skus = rng.sample(SKUS, rng.randint(1, 3))
            items = [line(s, rng.randint(1, 5), f"{rng.randint(0, 5000) / 100:.2f}") for s in skus]
            currency = rng.choice(["EUR", "USD"])
            orders.append((place(customer, *items, currency=currency), customer))
            continue
        order_id, customer = rng.choice(orders)
        # A refused command (e.g. a SKU not in the order) appends nothing.
        with contextlib.suppress(RuleViolation):
            run(
                random_command(rng, kind, order_id),
                "stella" if kind == "ship" else customer,
                staff=kind == "ship",
            )
        if rng.random() < 0.1:
            catch_up(batch_size=rng.randint(1, 50))


@pytest.mark.parametrize("seed", [1, 2])
def test_rebuild_equals_incremental_projection(seed):
    random_commands(random.Random(seed), 300)
    catch_up(batch_size=13)
    incremental = snapshot()
    assert sum(len(rows) for rows in incremental.values()) > 20

    for name in runner.projection_names():
        rebuilds.projections_rebuild([name], batch_size=40)
    assert snapshot() == incremental
    assert positions() == {name: store.head_position() for name in runner.projection_names()}


@pytest.mark.parametrize(
    ("rows_held", "copy_from_rows"),
    [(10**6, 10**6), (5, 1)],
    ids=["rows-in-memory-statement-writes", "rows-spilled-and-read-back-copy-writes"],
)
def test_one_pass_rebuild_of_all_projections_equals_incremental(
    monkeypatch, rows_held, copy_from_rows
):
    """The rebuild reads the log once for every projection; the result is the same
    whether it keeps every row in memory or spills them and reads them back, and
    whichever way the rows are written."""
    random_commands(random.Random(3), 200)
    catch_up(batch_size=11)
    incremental = snapshot()
    monkeypatch.setattr(rebuilds, "REBUILD_ROWS_HELD", rows_held)
    monkeypatch.setattr("orders_read.projectors.upsert.COPY_FROM_ROWS", copy_from_rows)

    events = rebuilds.projections_rebuild(batch_size=17)

    assert events == Event.objects.count() > 100
    assert snapshot() == incremental
    assert positions() == {name: store.head_position() for name in runner.projection_names()}


def test_the_order_view_agrees_with_the_aggregate():
    random_commands(random.Random(3), 200)
    catch_up()
    orders = EventLogOrderRepository()
    for view in OrderView.objects.using("read").all():
        order = orders.get(view.order_id)
        assert (view.status, view.version, view.total) == (order.status, order.version, order.total)
        lines = {i["sku"]: (i["quantity"], Decimal(i["unit_price"])) for i in view.items}
        assert lines == {s: (ln.quantity, ln.unit_price) for s, ln in order.lines.items()}


def test_the_rebuild_command_shows_progress_and_replaces_the_rows():
    for _ in range(5):
        place("alice", line("A-1"))
    catch_up()
    expected = snapshot()
    OrderView.objects.using("read").update(status="shipped")  # damage it
    out, err = StringIO(), StringIO()
    call_command("rebuild_projections", "order_view", "--batch-size", "2", stdout=out, stderr=err)
    # A tqdm bar: events done of the head, with the rate.
    head = store.head_position()
    assert "rebuild order_view: 100%" in err.getvalue() and f"{head}/{head}" in err.getvalue()
    assert "events/s" in err.getvalue()
    assert "order_view: rebuilt and swapped in at position" in out.getvalue()
    assert snapshot() == expected


def test_the_catch_up_command_runs_the_named_projections():
    place("alice", line("A-1"))
    out = StringIO()
    call_command("catch_up", "customer_summary", stdout=out)
    assert "customer_summary: applied 1 events" in out.getvalue()
    assert positions() == {
        name: store.head_position() if name == "customer_summary" else 0
        for name in runner.projection_names()
    }
    with pytest.raises(CommandError, match="Unknown projection"):
        call_command("catch_up", "nope")
