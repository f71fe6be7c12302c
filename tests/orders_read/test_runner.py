"""Invariant 4: read-model changes and the checkpoint commit together, exactly once."""

import math
import random

import pytest
from django.db import IntegrityError, transaction

from eventlog import store
from eventlog.models import Event
from orders_read import rebuilds, runner
from orders_read.models import Checkpoint, CustomerSummary, ParkedStream, ProductSales
from orders_read.projectors.customers import CustomerSummaryProjector
from orders_write import commands

from .conftest import BOTH_DATABASES, catch_up, in_threads, line, place, positions, run, snapshot


def orders_for(customers: int = 3, per_customer: int = 10) -> None:
    """Place orders with A-1 x1 and change or cancel some, all before projecting."""
    for n in range(customers * per_customer):
        order_id = place(f"c{n % customers}", line("A-1", 1, "2.00"), line(f"S-{n % 4}", 2, "1.50"))
        if n % 3 == 0:
            run(commands.ChangeItemQuantity(order_id, sku="A-1", quantity=3), f"c{n % customers}")
        if n % 5 == 0:
            run(commands.CancelOrder(order_id), f"c{n % customers}")


def expected_a1_units(customers: int = 3, per_customer: int = 10) -> int:
    total = 0
    for n in range(customers * per_customer):
        if n % 5:
            total += 3 if n % 3 == 0 else 1
    return total


@pytest.mark.django_db(databases=BOTH_DATABASES)
class TestDuplicates:
    def test_a_second_catch_up_changes_nothing(self):
        orders_for()
        catch_up()
        before, at = snapshot(), positions()
        assert catch_up() == {name: 0 for name in at}
        assert snapshot() == before
        assert positions() == at == {name: store.head_position() for name in at}

    def test_any_batch_size_gives_the_same_read_model(self):
        orders_for()
        catch_up(batch_size=1000)
        whole = snapshot()
        for name in runner.projection_names():
            rebuilds.projections_rebuild([name], batch_size=1)
        assert snapshot() == whole
        for projector in runner.PROJECTORS.values():
            projector().reset()
        Checkpoint.objects.using("read").update(position=0)
        catch_up(batch_size=7)
        assert snapshot() == whole

    def test_a_stale_runner_cannot_move_the_checkpoint(self):
        orders_for(1, 2)
        catch_up()
        with transaction.atomic(using="read"):
            stale = Checkpoint.objects.using("read").get(name="order_view")
            Checkpoint.objects.using("read").filter(name="order_view").update(position=1)
            with pytest.raises(runner.StaleCheckpoint):
                runner.checkpoint_advance(stale, (0, 99))
        assert positions()["order_view"] == 1

    def test_the_checkpoint_only_moves_with_the_rows(self, monkeypatch):
        catch_up()  # built on the empty log: from here on, incremental catch-up
        orders_for(1, 2)

        def fail(*args, **kwargs):
            raise RuntimeError("the database went away while writing")

        monkeypatch.setattr(runner.PROJECTORS["product_sales"], "save", fail)
        with pytest.raises(RuntimeError):
            runner.projection_catch_up("product_sales")
        assert positions()["product_sales"] == 0
        assert not ProductSales.objects.using("read").exists()


@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_racing_runners_apply_each_event_once(no_nudge):
    orders_for()
    head, events = store.head_position(), Event.objects.count()

    def race(n: int) -> int:
        # Small, varied batches so the runners interleave many times.
        names = runner.projection_names()
        random.Random(n).shuffle(names)
        return sum(runner.projection_catch_up(name, batch_size=3 + n) for name in names)

    results = in_threads(4, race)
    assert not [r for r in results if isinstance(r, Exception)], results
    # Every event was read exactly once per projection, whichever runner read it.
    assert sum(results) == events * len(runner.projection_names())
    assert positions() == {name: head for name in runner.projection_names()}
    assert ProductSales.objects.using("read").get(sku="A-1").units_sold == expected_a1_units()
    counts = CustomerSummary.objects.using("read").values_list("orders_count", flat=True)
    assert sorted(counts) == [10, 10, 10]
    before = snapshot()
    in_threads(3, lambda n: catch_up())
    assert snapshot() == before


@pytest.mark.django_db(databases=BOTH_DATABASES)
def test_a_refused_row_late_in_a_batch_is_found_in_logarithmic_batch_runs(monkeypatch, no_nudge):
    catch_up()  # built on the empty log: from here on, incremental catch-up
    batch = 50
    for n in range(batch):
        place(f"c{n}", line("A-1"))
    refused = Event.objects.get(version=1, data__customer_id="c40")
    original_save = CustomerSummaryProjector.save

    def save(self):
        if "c40" in self.changed:
            raise IntegrityError("the database refuses c40")
        original_save(self)

    runs = []
    original_run = runner._batch_run

    def counted(*args, **kwargs):
        runs.append(args[1])  # the batch size asked for
        return original_run(*args, **kwargs)

    monkeypatch.setattr(CustomerSummaryProjector, "save", save)
    monkeypatch.setattr(runner, "_batch_run", counted)
    runner.projection_catch_up("customer_summary", batch_size=batch)

    # The refused event's stream is parked; every other event is applied.
    parked = ParkedStream.objects.using("read").get()
    assert (parked.stream_id, parked.position) == (refused.stream_id, refused.position)
    assert "IntegrityError: the database refuses c40" in parked.error
    assert positions()["customer_summary"] == store.head_position()
    assert CustomerSummary.objects.using("read").count() == batch - 1
    # Bisection: about two runs per halving, not two per event before the culprit (82).
    assert len(runs) <= 2 + 2 * math.ceil(math.log2(batch)), runs
