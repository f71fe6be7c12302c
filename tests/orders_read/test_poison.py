"""Invariant 6: a failing handler stops its projection at that event, recorded and retried."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from eventlog import store
from orders_read import runner, tasks
from orders_read.models import Checkpoint, CustomerSummary, OrderView, ProductSales
from orders_read.projectors.customers import CustomerSummaryProjector
from orders_read.projectors.products import ProductSalesProjector

from .conftest import BOTH_DATABASES, catch_up, line, place, positions

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


@pytest.fixture
def poison(monkeypatch):
    """Make ProductSalesProjector fail on SKU "BAD" until `poison.cured` is set."""

    class Poison:
        cured = False
        calls = 0

    original = ProductSalesProjector.on_order_placed

    def on_order_placed(self, event):
        if any(i["sku"] == "BAD" for i in event.data["items"]) and not Poison.cured:
            Poison.calls += 1
            raise ValueError("cannot project SKU BAD")
        original(self, event)

    monkeypatch.setattr(ProductSalesProjector, "on_order_placed", on_order_placed)
    return Poison


def checkpoint(name: str = "product_sales") -> Checkpoint:
    return Checkpoint.objects.using("read").get(name=name)


def test_the_projection_stops_at_the_failing_event_and_others_go_on(poison):
    place("alice", line("A-1"))
    before = store.head_position()
    place("alice", line("BAD"))
    bad = store.head_position()
    place("alice", line("A-1"))

    with pytest.raises(runner.ProjectionFailed) as failed:
        runner.projection_catch_up("product_sales")
    assert failed.value.position == bad
    # The events before the failing one in the same batch are applied and kept.
    assert positions()["product_sales"] == before
    assert ProductSales.objects.using("read").get(sku="A-1").units_sold == 1
    stopped = checkpoint()
    assert stopped.error_position == bad and stopped.attempts == 1
    assert "ValueError: cannot project SKU BAD" in stopped.last_error
    assert stopped.retry_at > timezone.now()

    for name in ("order_view", "customer_summary"):
        runner.projection_catch_up(name)
        assert positions()[name] == store.head_position()
    assert OrderView.objects.using("read").count() == 3


def test_it_is_retried_with_backoff_and_never_skipped(poison):
    place("alice", line("BAD"))
    bad = store.head_position()
    with pytest.raises(runner.ProjectionFailed):
        runner.projection_catch_up("product_sales")
    # Before the retry time, sweeps and nudges leave it alone...
    assert runner.projection_catch_up("product_sales") == 0
    assert poison.calls == 1
    # ...after it, they try again, and the wait grows.
    Checkpoint.objects.using("read").update(retry_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(runner.ProjectionFailed) as failed:
        runner.projection_catch_up("product_sales")
    assert failed.value.attempts == checkpoint().attempts == 2
    assert failed.value.retry_in > runner.backoff_seconds(1)
    assert checkpoint().position < bad
    assert not ProductSales.objects.using("read").exists()


def test_once_the_handler_works_the_event_is_applied_once(poison):
    place("alice", line("BAD", 3))
    with pytest.raises(runner.ProjectionFailed):
        runner.projection_catch_up("product_sales")
    poison.cured = True
    assert runner.projection_catch_up("product_sales", force=True) == 1
    catch_up()
    assert ProductSales.objects.using("read").get(sku="BAD").units_sold == 3
    cleared = checkpoint()
    assert (cleared.last_error, cleared.error_position, cleared.attempts) == ("", None, 0)
    assert cleared.position == store.head_position()


def test_the_task_records_it_without_failing_the_caller_when_eager(poison, eager):
    place("alice", line("BAD"))
    tasks.projections_catch_up.delay()  # as the post-commit nudge does
    assert checkpoint().error_position == store.head_position()
    assert positions()["order_view"] == store.head_position()


def test_a_worker_retries_the_task_with_backoff(poison, monkeypatch):
    place("alice", line("BAD"))
    retried = {}

    def retry(**kwargs):
        retried.update(kwargs)
        return RuntimeError("retry")

    monkeypatch.setattr(tasks.projection_catch_up, "retry", retry)
    with pytest.raises(RuntimeError):
        tasks.projection_catch_up.run("product_sales")
    assert retried["countdown"] == runner.backoff_seconds(1)


def test_a_row_the_database_refuses_is_found_and_stops_the_projection(monkeypatch):
    place("alice", line("A-1"))
    place("bob", line("A-1"))
    refused = store.head_position()
    place("alice", line("A-1"))
    original = CustomerSummaryProjector.save

    def save(self):
        if "bob" in self.changed:
            raise IntegrityError("the database refuses bob")
        original(self)

    monkeypatch.setattr(CustomerSummaryProjector, "save", save)
    with pytest.raises(runner.ProjectionFailed) as failed:
        runner.projection_catch_up("customer_summary")
    # The batch was refused as a whole; event by event, the culprit was found.
    assert failed.value.position == refused
    assert positions()["customer_summary"] < refused
    assert CustomerSummary.objects.using("read").get().orders_count == 1
    assert "IntegrityError: the database refuses bob" in checkpoint("customer_summary").last_error
