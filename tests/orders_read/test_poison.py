"""Invariant 6: a failing handler parks its event's stream; every other stream flows on."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.utils import timezone

from eventlog import store
from orders_read import rebuilds, retries, runner, tasks
from orders_read.models import CustomerSummary, OrderView, ParkedStream, ProductSales
from orders_read.projectors.customers import CustomerSummaryProjector
from orders_read.projectors.orders import OrderViewProjector
from orders_read.projectors.products import ProductSalesProjector
from orders_write import commands

from .conftest import BOTH_DATABASES, catch_up, line, place, positions, run, snapshot

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


@pytest.fixture
def poison(monkeypatch):
    """Make ProductSalesProjector fail on SKU "BAD" until `poison.cured` (the fixed deploy)."""

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


def parked(projection: str = "product_sales") -> ParkedStream:
    return ParkedStream.objects.using("read").get(projection=projection)


def add(order_id, sku: str, quantity: int = 1, customer: str = "alice") -> None:
    run(commands.AddItem(order_id, sku=sku, quantity=quantity, unit_price=1), customer)


def test_a_poison_event_parks_its_stream_only_and_the_projection_goes_on(poison, no_nudge):
    good = place("alice", line("A-1"))
    bad_order = place("alice", line("BAD"), line("A-1"))
    bad = store.head_position()
    add(good, "B-1")
    add(bad_order, "C-1")  # later in the parked stream: held back with it
    place("bob", line("A-1"))

    catch_up()

    assert positions()["product_sales"] == store.head_position()
    stream = parked()
    assert (stream.stream_id, stream.position, stream.version) == (bad_order, bad, 1)
    assert stream.event_type == "OrderPlaced" and stream.attempts == 1
    assert "ValueError: cannot project SKU BAD" in stream.error
    assert "on_order_placed" in stream.traceback  # where it failed, for whoever fixes it
    assert stream.retry_at > timezone.now()
    sales = {row.sku: row.units_sold for row in ProductSales.objects.using("read")}
    assert sales == {"A-1": 2, "B-1": 1}  # nothing of the parked order, C-1 included
    # The other projections saw every event.
    assert OrderView.objects.using("read").count() == 3
    assert not ParkedStream.objects.using("read").exclude(projection="product_sales").exists()


def test_a_parked_stream_is_retried_with_backoff_never_skipped(poison, no_nudge):
    order_id = place("alice", line("BAD"))
    catch_up()
    assert poison.calls == 1
    # Before the retry time, a retry that is not forced leaves it alone...
    assert retries.parked_retry("product_sales").applied == []
    assert poison.calls == 1
    # ...after it, it is tried again, and the wait grows.
    ParkedStream.objects.using("read").update(retry_at=timezone.now() - timedelta(seconds=1))
    outcome = retries.parked_retry("product_sales")
    assert outcome.applied == [] and len(outcome.failed) == 1
    again = parked()
    assert again.attempts == 2 and again.stream_id == order_id
    assert again.retry_at - timezone.now() > timedelta(seconds=runner.backoff_seconds(1))
    assert not ProductSales.objects.using("read").exists()


def test_once_fixed_a_retry_applies_the_parked_events_in_order_and_equals_a_rebuild(
    poison, no_nudge
):
    order_id = place("alice", line("BAD", 3), line("A-1"))
    place("bob", line("A-1", 2))
    catch_up()
    add(order_id, "C-1", 2)
    run(commands.ChangeItemQuantity(order_id, sku="BAD", quantity=5), "alice")
    run(commands.RemoveItem(order_id, sku="A-1"), "alice")
    place("carol", line("BAD"))  # another order, parked on its own
    catch_up()
    assert ParkedStream.objects.using("read").count() == 2

    poison.cured = True  # the corrected handler is deployed
    outcome = retries.parked_retry("product_sales", force=True)

    assert len(outcome.applied) == 2 and outcome.failed == []
    assert not ParkedStream.objects.using("read").exists()
    sales = {
        row.sku: (row.units_sold, row.orders_count) for row in ProductSales.objects.using("read")
    }
    assert sales == {"BAD": (6, 2), "A-1": (2, 1), "C-1": (2, 1)}
    # New events of the stream flow again with the rest.
    add(order_id, "D-1")
    catch_up()
    incremental = snapshot()
    rebuilds.projections_rebuild()
    assert snapshot() == incremental


def test_a_query_about_a_parked_order_answers_its_last_good_state_marked(
    monkeypatch, staff_client, no_nudge
):
    def on_item_added(self, event):
        raise RuntimeError("view bug")

    monkeypatch.setattr(OrderViewProjector, "on_item_added", on_item_added)
    order_id = place("alice", line("A-1"))
    other = place("bob", line("A-1"))
    add(order_id, "B-1")  # the order view fails here: the order is parked after v1
    catch_up()

    response = staff_client.get(f"/api/orders/{order_id}/")
    assert response.status_code == 200 and response["X-Parked"] == "true"
    assert response.json()["version"] == 1 and len(response.json()["items"]) == 1
    assert "X-Parked" not in staff_client.get(f"/api/orders/{other}/")
    # The same, as of now: folded from the log up to the event that fails.
    as_of = staff_client.get(f"/api/orders/{order_id}/", {"as_of": timezone.now().isoformat()})
    assert as_of["X-Parked"] == "true" and as_of.json()["version"] == 1

    [status] = [
        p for p in staff_client.get("/api/projections/").json() if p["name"] == "order_view"
    ]
    assert status["parked_streams"] == 1 and status["status"] == "degraded"
    assert status["last_error"]["stream_id"] == str(order_id)
    assert "RuntimeError: view bug" in status["last_error"]["message"]


def test_the_nudge_parks_without_failing_the_caller_when_eager(poison, eager):
    place("alice", line("BAD"))
    tasks.projections_catch_up.delay(position=store.head_position())  # as the nudge does
    assert parked().position == store.head_position()
    assert positions()["product_sales"] == store.head_position()


def test_a_row_the_database_refuses_parks_its_stream(monkeypatch, no_nudge):
    place("alice", line("A-1"))
    refused = place("bob", line("A-1"))
    place("alice", line("A-1"))
    original = CustomerSummaryProjector.save

    def save(self):
        if "bob" in self.changed:
            raise IntegrityError("the database refuses bob")
        original(self)

    monkeypatch.setattr(CustomerSummaryProjector, "save", save)
    catch_up()
    # The batch was refused as a whole; bisected, the culprit's stream is parked.
    assert parked("customer_summary").stream_id == refused
    assert "IntegrityError: the database refuses bob" in parked("customer_summary").error
    assert positions()["customer_summary"] == store.head_position()
    assert CustomerSummary.objects.using("read").get().orders_count == 2


def test_rebuild_and_verify_park_the_same_streams(poison, no_nudge):
    place("alice", line("A-1"))
    bad_order = place("alice", line("BAD"))
    place("bob", line("A-1"))
    catch_up()
    live = snapshot()

    rebuilds.projections_rebuild(["product_sales"])

    assert snapshot() == live
    assert parked().stream_id == bad_order  # the rebuild's parking, swapped in with it
    assert ParkedStream.objects.using("read").count() == 1
    assert rebuilds.projection_verify("product_sales").matches
    poison.cured = True
    retries.parked_retry("product_sales", force=True)
    assert ProductSales.objects.using("read").get(sku="BAD").units_sold == 1


def test_retry_parked_command_retries_now_and_says_what_stays(poison, no_nudge):
    place("alice", line("BAD"))
    catch_up()
    out = StringIO()
    with pytest.raises(CommandError, match="1 stream"):
        call_command("retry_parked", "product_sales", stdout=out)
    assert "1 still parked" in out.getvalue()
    poison.cured = True
    call_command("retry_parked", stdout=out)
    assert "product_sales: 1 stream(s) applied" in out.getvalue()
    assert not ParkedStream.objects.using("read").exists()


def test_the_sweep_retries_parked_streams_that_are_due(poison, eager):
    place("alice", line("BAD"))
    tasks.projections_catch_up.delay()  # catches up, and parks it
    poison.cured = True
    tasks.projections_catch_up.delay()  # not due yet: still parked
    assert ParkedStream.objects.using("read").exists()
    ParkedStream.objects.using("read").update(retry_at=timezone.now())
    tasks.projections_catch_up.delay()
    assert not ParkedStream.objects.using("read").exists()
    assert ProductSales.objects.using("read").get(sku="BAD").units_sold == 1
