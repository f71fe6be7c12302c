"""Partitioned projections: split by stream, each partition on its own, the sums still exact."""

import random
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from config.bootstrap import query_bus
from eventlog import store
from orders_read import partitions, rebuilds, retries, runner, selectors
from orders_read.models import Checkpoint, CustomerSummary, PartitionCheckpoint, ProductSales
from orders_read.projectors.products import ProductSalesProjector
from orders_read.queries import GetCustomer, ReadModelBehind, Viewer
from orders_write import commands
from tests.conftest import postgres_only

from .conftest import BOTH_DATABASES, catch_up, line, place, run, snapshot

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)
STAFF = Viewer("stella", is_staff=True)


def workload(orders: int, seed: int = 7) -> list[UUID]:
    """Place orders of a few customers on a few shared SKUs, then change, ship and cancel
    some: rows that many streams add to (customers, SKUs, days) in every partition."""
    rng = random.Random(seed)
    placed = []
    for n in range(orders):
        customer = f"c{n % 5}"
        order_id = place(customer, line(f"S-{n % 3}", 1 + n % 4, "2.50"))
        placed.append(order_id)
        choice = rng.random()
        if choice < 0.3:
            run(commands.AddItem(order_id, "S-9", 2, Decimal("1.25")), customer)
        elif choice < 0.5:
            run(commands.CancelOrder(order_id), customer)
        elif choice < 0.6:
            run(commands.ShipOrder(order_id), "stella", staff=True)
    return placed


def catch_up_interleaved(count: int, *, rounds: int = 200, seed: int = 3) -> None:
    """Catch partitions up in a random order, a few events at a time, until all are done:
    partitions reach their keys in every interleaving, not one after another."""
    rng = random.Random(seed)
    jobs = [(name, p) for name in runner.projection_names() for p in range(count)]
    for _ in range(rounds):
        name, p = rng.choice(jobs)
        runner.projection_catch_up(name, batch_size=rng.randint(1, 9), partition=p)
    catch_up(batch_size=5)


def verified() -> dict[str, bool]:
    """Verify every projection (a fresh build compared with the live model)."""
    return {name: rebuilds.projection_verify(name).matches for name in runner.projection_names()}


def test_a_stream_belongs_to_one_partition_spread_evenly():
    ids = [uuid4() for _ in range(4000)]
    counts = [0] * 4
    for stream_id in ids:
        counts[partitions.partition_of(stream_id, 4)] += 1
        assert partitions.partition_of(stream_id, 4) == partitions.partition_of(stream_id, 4)
    assert all(800 < count < 1200 for count in counts), counts


@pytest.mark.parametrize("count", [1, 4, 7])
def test_partitioned_projections_equal_a_rebuild(settings, no_nudge, count):
    settings.ORDINAL_PROJECTION_PARTITIONS = count
    catch_up()  # every projection built (on an empty log) and split
    workload(40)

    catch_up_interleaved(count)

    rows = PartitionCheckpoint.objects.using("read")
    assert rows.count() == (count * len(runner.projection_names()) if count > 1 else 0)
    live = snapshot()
    assert verified() == dict.fromkeys(runner.projection_names(), True)
    assert snapshot() == live
    for name in runner.projection_names():
        rebuilds.projections_rebuild([name])
    assert snapshot() == live


def test_changing_the_partition_count_brings_old_partitions_to_one_key_first(settings, no_nudge):
    settings.ORDINAL_PROJECTION_PARTITIONS = 4
    catch_up()
    workload(20, seed=1)
    # Partitions far apart: the first two up to the head, the others not at all.
    for name in runner.projection_names():
        for p in (0, 1):
            runner.projection_catch_up(name, partition=p)
    workload(20, seed=2)

    settings.ORDINAL_PROJECTION_PARTITIONS = 7
    catch_up_interleaved(7, rounds=60)
    settings.ORDINAL_PROJECTION_PARTITIONS = 1
    catch_up()

    assert not PartitionCheckpoint.objects.using("read").exists()
    head = store.head_position()
    assert set(Checkpoint.objects.using("read").values_list("position", flat=True)) == {head}
    assert verified() == dict.fromkeys(runner.projection_names(), True)


def test_a_projection_has_read_a_position_only_once_every_partition_has(settings, no_nudge):
    settings.ORDINAL_PROJECTION_PARTITIONS = 4
    catch_up()
    placed = workload(12)
    last = store.read_stream(placed[-1])[-1].position
    behind = partitions.partition_of(placed[-1], 4)
    for p in set(range(4)) - {behind}:
        runner.projection_catch_up("customer_summary", partition=p)

    reached = selectors.checkpoint_positions_get(names=("customer_summary",))
    assert reached["customer_summary"] < last
    assert "customer_summary" in runner.projections_behind(last)
    status = {s["name"]: s for s in selectors.projection_status_list()}["customer_summary"]
    assert [p["partition"] for p in status["partitions"]] == [0, 1, 2, 3]
    assert status["partitions"][behind]["lag_events"] > 0
    assert status["position"] == reached["customer_summary"]

    runner.projection_catch_up("customer_summary", partition=behind)
    reached = selectors.checkpoint_positions_get(names=("customer_summary",))
    assert reached["customer_summary"] == store.head_position()
    assert "customer_summary" not in runner.projections_behind(last)


def test_a_read_with_min_position_waits_for_every_partition(settings, no_nudge, short_wait):
    settings.ORDINAL_PROJECTION_PARTITIONS = 4
    catch_up()
    order_id = place("carol", line("A-1", 3, "4.00"))
    position = store.read_stream(order_id)[-1].position
    mine = partitions.partition_of(order_id, 4)
    # Every partition but the order's: not enough.
    for p in set(range(4)) - {mine}:
        runner.projection_catch_up("customer_summary", partition=p)
    asked = GetCustomer(viewer=STAFF, customer_id="carol", min_position=position)
    with pytest.raises(ReadModelBehind):
        query_bus().dispatch(asked)

    runner.projection_catch_up("customer_summary", partition=mine)
    answer = query_bus().dispatch(asked)
    assert answer.value.orders_count == 1
    assert answer.read_position >= position


def test_a_failing_stream_parks_in_its_partition_and_the_others_flow(
    settings, no_nudge, monkeypatch
):
    settings.ORDINAL_PROJECTION_PARTITIONS = 4
    catch_up()
    original = ProductSalesProjector.on_order_placed
    cured = False

    def on_order_placed(self, event):
        if any(i["sku"] == "BAD" for i in event.data["items"]) and not cured:
            raise ValueError("cannot project SKU BAD")
        original(self, event)

    monkeypatch.setattr(ProductSalesProjector, "on_order_placed", on_order_placed)
    bad = place("dave", line("BAD", 1))
    workload(16)
    catch_up_interleaved(4, rounds=30)

    parked = retries.parked_retry("product_sales", force=True)
    assert [str(s.split(":")[0]) for s in parked.failed] == [str(bad)]
    assert not ProductSales.objects.using("read").filter(sku="BAD").exists()
    cured = True
    assert retries.parked_retry("product_sales", force=True).applied == [bad]
    assert ProductSales.objects.using("read").get(sku="BAD").units_sold == 1
    assert verified()["product_sales"]


@postgres_only
@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_partition_runners_racing_on_shared_rows_lose_no_update(settings, no_nudge):
    """Four threads, one per partition, apply events of orders that all add to the same few
    customers, SKUs and days at once: the sums equal a from-scratch build's."""
    from .conftest import in_threads

    settings.ORDINAL_PROJECTION_PARTITIONS = 4
    catch_up()
    workload(120, seed=11)

    def runner_of(p: int) -> int:
        done = 0
        for name in ("customer_summary", "product_sales", "daily_sales"):
            done += runner.projection_catch_up(name, batch_size=2, partition=p)
        return done

    results = in_threads(4, runner_of)
    assert all(isinstance(r, int) for r in results), results
    counts = dict(CustomerSummary.objects.using("read").values_list("customer_id", "orders_count"))
    assert counts == {f"c{n}": 24 for n in range(5)}
    assert verified() == dict.fromkeys(runner.projection_names(), True)


def test_a_rebuild_swaps_in_with_every_partition_at_its_key(settings, no_nudge):
    settings.ORDINAL_PROJECTION_PARTITIONS = 4
    catch_up()
    workload(10)
    runner.projection_catch_up("product_sales", partition=1)

    rebuilds.projections_rebuild(["product_sales"])

    head = store.head_position()
    rows = partitions.partitions_get("product_sales")
    assert [(row.partition, row.partitions, row.position) for row in rows] == [
        (p, 4, head) for p in range(4)
    ]
    assert "product_sales" not in runner.projections_behind()


def test_partitioned_runners_take_no_projection_snapshot(settings, no_nudge):
    from orders_read.models import ProjectionSnapshot

    settings.ORDINAL_PROJECTION_SNAPSHOT_EVERY = 5
    settings.ORDINAL_PROJECTION_PARTITIONS = 4
    catch_up()
    workload(10)
    catch_up()
    assert not ProjectionSnapshot.objects.using("read").exists()
    settings.ORDINAL_PROJECTION_PARTITIONS = 1
    workload(10, seed=5)
    catch_up()
    assert ProjectionSnapshot.objects.using("read").exists()


def test_the_nudge_sends_one_task_per_partition_of_each_projection_behind(
    settings, monkeypatch, no_nudge
):
    from orders_read import tasks

    settings.ORDINAL_PROJECTION_PARTITIONS = 3
    catch_up()
    sent = []
    monkeypatch.setattr(
        tasks.projection_catch_up,
        "delay",
        lambda name, correlation_id, partition: sent.append((name, partition)),
    )
    order_id = place("erin")
    position = store.read_stream(order_id)[-1].position

    tasks.projections_catch_up(position=position)
    expected = sorted((name, p) for name in runner.projection_names() for p in range(3))
    assert sorted(sent) == expected
    sent.clear()
    tasks.projections_catch_up()  # the sweep
    assert sorted(sent) == expected


@postgres_only
@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_an_order_placing_waits_for_its_customers_forgetting(settings, no_nudge):
    """The order view's runner takes the customer's lock before it opens an address: one
    held elsewhere (a forgetting being applied) holds the order's placing back."""
    import threading

    from django.db import connections, transaction

    from orders_read.projectors.locks import lock_id
    from tests.reliability.conftest import waiting_on_a_lock

    settings.ORDINAL_PROJECTION_PARTITIONS = 4
    catch_up()
    order_id = place("frank", line("A-1"))
    mine = partitions.partition_of(order_id, 4)
    held, release = threading.Event(), threading.Event()

    def forgetting() -> None:
        with transaction.atomic(using="read"), connections["read"].cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)", [lock_id("order_view", "first", "frank")]
            )
            held.set()
            release.wait(30)
        connections.close_all()

    holder = threading.Thread(target=forgetting)
    holder.start()
    held.wait(10)
    placing = threading.Thread(
        target=lambda: (
            runner.projection_catch_up("order_view", partition=mine),
            connections.close_all(),
        )
    )
    placing.start()
    try:
        deadline = 100
        while not waiting_on_a_lock() and deadline:
            deadline -= 1
            threading.Event().wait(0.1)
        assert waiting_on_a_lock(), "the order's placing did not wait for the customer's lock"
        from orders_read.models import OrderView

        assert not OrderView.objects.using("read").filter(order_id=order_id).exists()
    finally:
        release.set()
        holder.join(30)
        placing.join(30)
    assert OrderView.objects.using("read").filter(order_id=order_id).exists()


@postgres_only
@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_a_runner_finding_its_partition_leased_leaves_it_to_the_holder_which_reads_again(
    settings, no_nudge, monkeypatch
):
    """An order of a partition is placed just after its holder read the feed, and the
    runner its nudge starts passes the partition over at once (SKIP LOCKED): the holder,
    reading once more after it commits, applies the order all the same."""
    import threading

    from django.db import connections

    settings.ORDINAL_PROJECTION_PARTITIONS = 2
    catch_up()
    placed = [place("gina", line("A-1"))]
    mine = partitions.partition_of(placed[0], 2)
    passed_over: list[int] = []
    read_partition = store.read_partition

    def read_then_place(*args, **kwargs):
        page = read_partition(*args, **kwargs)
        if not passed_over:
            while partitions.partition_of(placed[-1], 2) != mine or len(placed) == 1:
                placed.append(place("gina", line("B-2")))

            def nudged() -> None:
                passed_over.append(runner.projection_catch_up("customer_summary", partition=mine))
                connections.close_all()

            other = threading.Thread(target=nudged)
            other.start()
            other.join(30)
        return page

    monkeypatch.setattr(store, "read_partition", read_then_place)
    runner.projection_catch_up("customer_summary", partition=mine)

    assert passed_over == [0]  # it did not wait for the holder
    in_mine = [order for order in placed if partitions.partition_of(order, 2) == mine]
    summary = CustomerSummary.objects.using("read").get(customer_id="gina")
    assert summary.orders_count == len(in_mine) >= 2
