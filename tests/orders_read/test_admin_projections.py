"""The projection console: health per projection, and catch up, retry, rebuild, verify."""

import pytest
from django.db import OperationalError

from eventlog import store
from orders_read import runner
from orders_read.models import Checkpoint, OrderView, ProductSales
from orders_read.projectors.products import ProductSalesProjector

from .admin_helpers import PROJECTIONS, logged_in, messages_of
from .conftest import BOTH_DATABASES, catch_up, line, place, positions, snapshot

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


@pytest.fixture
def console(client, staff):
    """Run one console operation on one projection; return the messages it shows."""
    browser = logged_in(client, staff)

    def operate(operation: str, projection: str) -> list[str]:
        response = browser.post(
            PROJECTIONS, {"projection": projection, "operation": operation}, follow=True
        )
        assert response.status_code == 200
        return messages_of(response)

    operate.page = lambda: browser.get(PROJECTIONS).content.decode()
    return operate


@pytest.fixture
def poison(monkeypatch):
    """Make ProductSalesProjector fail on SKU "BAD" until `poison.cured` is set."""

    class Poison:
        cured = False

    original = ProductSalesProjector.on_order_placed

    def on_order_placed(self, event):
        if any(i["sku"] == "BAD" for i in event.data["items"]) and not Poison.cured:
            raise ValueError("cannot project SKU BAD")
        original(self, event)

    monkeypatch.setattr(ProductSalesProjector, "on_order_placed", on_order_placed)
    return Poison


def test_the_console_shows_position_head_lag_and_status(console):
    place("alice")
    catch_up()
    place("bob")
    html = console.page()
    for name in ("order_view", "customer_summary", "product_sales"):
        assert f'class="projection-{name}"' in html
    assert "catching_up" in html and f"<td>{store.head_position()}</td>" in html


def test_catch_up_now_brings_a_lagging_projection_to_the_head(console):
    place("alice")
    [message] = console("catch_up", "order_view")
    assert message == "order_view: caught up, 1 event(s) applied."
    assert positions()["order_view"] == store.head_position()
    assert OrderView.objects.using("read").count() == 1


def test_a_poison_event_is_shown_linked_and_retried_once_fixed(console, poison):
    place("alice", line("BAD", 3))
    bad = store.head_position()
    [stopped] = console("catch_up", "product_sales")
    assert f"stopped at position {bad}" in stopped
    html = console.page()
    assert "failing" in html and "cannot project SKU BAD" in html
    assert f'href="/admin/eventlog/event/{bad}/change/"' in html

    [still] = console("retry", "product_sales")
    assert still.startswith("Retry failed:")
    poison.cured = True
    [retried] = console("retry", "product_sales")
    assert retried.startswith(f"product_sales: the event at position {bad} is applied now")
    assert ProductSales.objects.using("read").get(sku="BAD").units_sold == 3
    cleared = Checkpoint.objects.using("read").get(name="product_sales")
    assert (cleared.last_error, cleared.error_position, cleared.position) == ("", None, bad)
    assert console("retry", "product_sales") == ["product_sales: no failed event to retry."]


def test_rebuild_restores_a_corrupted_read_model(console):
    order_id = place("alice", line("A-1", 2, "10.00"))
    catch_up()
    healthy = snapshot()
    OrderView.objects.using("read").filter(order_id=order_id).update(total="0.01")
    [message] = console("rebuild", "order_view")
    assert message == "order_view: rebuilt from 1 event(s)."
    assert snapshot() == healthy


def test_verify_reports_a_match_on_a_healthy_model(console):
    place("alice", line("A-1"))
    place("bob", line("B-2"))
    catch_up()
    before = snapshot()
    for name in ("order_view", "customer_summary", "product_sales"):
        [message] = console("verify", name)
        assert message.startswith(f"{name}: matches the event log (2 rows)"), message
    assert snapshot() == before


def test_verify_reports_a_corrupted_row_and_leaves_it_alone(console):
    order_id = place("alice", line("A-1"))
    place("bob", line("B-2"))
    catch_up()
    OrderView.objects.using("read").filter(order_id=order_id).update(total="999.00")
    ProductSales.objects.using("read").filter(sku="B-2").delete()
    corrupted = snapshot()

    [orders] = console("verify", "order_view")
    assert "MISMATCH" in orders and "1 row(s) differ" in orders
    assert f"{order_id} (total)" in orders
    [products] = console("verify", "product_sales")
    assert "1 missing" in products and "B-2 (missing)" in products
    assert snapshot() == corrupted  # verify never repairs: rebuild does


def test_verify_does_not_count_lag_as_a_mismatch(console, no_nudge):
    place("alice")
    catch_up()
    place("bob")
    [message] = console("verify", "order_view")
    assert message.startswith("order_view: matches the event log (1 rows)")
    assert "lagging" in message


def test_an_unknown_projection_or_operation_is_refused(console):
    assert console("drop", "order_view") == ["Unknown projection or operation."]
    assert console("verify", "nope") == ["Unknown projection or operation."]


def test_a_lost_lock_or_connection_says_try_again(console, monkeypatch):
    def busy(name, **kwargs):
        raise OperationalError("could not obtain lock")

    monkeypatch.setattr(runner, "projection_catch_up", busy)
    [message] = console("catch_up", "order_view")
    assert message == "order_view: not done, try again (OperationalError: could not obtain lock)"
