"""The projection console: health per projection, and catch up, retry, rebuild, verify."""

import pytest
from django.db import OperationalError

from eventlog import store
from orders_read import rebuilds
from orders_read.models import OrderView, ParkedStream, ProductSales, Rebuild
from orders_read.projectors import PROJECTORS
from orders_read.projectors.products import ProductSalesProjector

from .admin_helpers import PROJECTIONS, logged_in, messages_of
from .conftest import BOTH_DATABASES, catch_up, line, place, positions, snapshot

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


@pytest.fixture
def console(client, staff, eager, django_capture_on_commit_callbacks):
    """Run one console operation on one projection; return the messages it shows.

    The operation's task is queued on commit of the read database and runs eagerly.
    """
    browser = logged_in(client, staff)

    def operate(operation: str, projection: str) -> list[str]:
        with django_capture_on_commit_callbacks(using="read", execute=True):
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


def test_catch_up_now_queues_a_task_that_brings_the_projection_to_the_head(console, no_nudge):
    place("alice")
    [message] = console("catch_up", "order_view")
    assert message == "order_view: catch-up queued."
    assert positions()["order_view"] == store.head_position()
    assert OrderView.objects.using("read").count() == 1


def test_a_parked_stream_is_shown_linked_and_retried_once_fixed(console, poison, no_nudge):
    order_id = place("alice", line("BAD", 3))
    bad = store.head_position()
    console("catch_up", "product_sales")
    html = console.page()
    assert "degraded" in html and "1 parked" in html and "cannot project SKU BAD" in html
    assert f'href="/admin/eventlog/event/{bad}/change/"' in html
    assert 'href="/admin/orders_read/parkedstream/?projection=product_sales"' in html

    console("retry", "product_sales")
    assert ParkedStream.objects.using("read").get().attempts == 2  # failed again
    poison.cured = True
    [retried] = console("retry", "product_sales")
    assert retried == "product_sales: retry of 1 parked stream(s) queued."
    assert ProductSales.objects.using("read").get(sku="BAD").units_sold == 3
    assert not ParkedStream.objects.using("read").filter(stream_id=order_id).exists()
    assert console("retry", "product_sales") == ["product_sales: no parked stream to retry."]


def test_the_parked_stream_list_shows_the_traceback_and_retries_selected_streams(
    client, staff, poison, no_nudge
):
    order_id = place("alice", line("BAD"))
    catch_up()
    browser = logged_in(client, staff)
    stream = ParkedStream.objects.using("read").get()
    page = browser.get(f"/admin/orders_read/parkedstream/{stream.pk}/change/").content.decode()
    assert "Traceback" in page and "on_order_placed" in page
    poison.cured = True
    response = browser.post(
        "/admin/orders_read/parkedstream/",
        {"action": "retry_now", "_selected_action": [stream.pk]},
        follow=True,
    )
    assert messages_of(response) == ["product_sales: 1 stream(s) applied"]
    assert not ParkedStream.objects.using("read").filter(stream_id=order_id).exists()


def test_rebuild_restores_a_corrupted_read_model_in_the_background(console):
    order_id = place("alice", line("A-1", 2, "10.00"))
    catch_up()
    healthy = snapshot()
    OrderView.objects.using("read").filter(order_id=order_id).update(total="0.01")
    [message] = console("rebuild", "order_view")
    assert message == "order_view: rebuild queued; its progress shows below."
    assert snapshot() == healthy
    html = console.page()
    assert "rebuild <strong>done</strong>" in html and "rebuilt and swapped in" in html


def test_a_second_rebuild_is_refused_while_one_is_active(console):
    place("alice")
    catch_up()
    rebuilds.rebuild_request("order_view")  # queued, its builder not started
    [message] = console("rebuild", "order_view")
    assert message.startswith("Not queued: A rebuild of order_view is already queued")
    [message] = console("verify", "order_view")
    assert message.startswith("Not queued:")
    html = console.page()
    assert "rebuild <strong>queued</strong>" in html
    assert '<meta http-equiv="refresh"' in html  # the page follows the progress


def test_verify_reports_a_match_on_a_healthy_model(console):
    place("alice", line("A-1"))
    place("bob", line("B-2"))
    catch_up()
    before = snapshot()
    for name in ("order_view", "customer_summary", "product_sales"):
        console("verify", name)
        build = Rebuild.objects.using("read").filter(projection=name).latest("pk")
        assert build.status == "done"
        assert build.result.startswith(f"{name}: matches the event log (2 rows)"), build.result
    assert snapshot() == before


def test_verify_reports_a_corrupted_row_and_leaves_it_alone(console):
    order_id = place("alice", line("A-1"))
    place("bob", line("B-2"))
    catch_up()
    OrderView.objects.using("read").filter(order_id=order_id).update(total="999.00")
    ProductSales.objects.using("read").filter(sku="B-2").delete()
    corrupted = snapshot()

    console("verify", "order_view")
    orders = Rebuild.objects.using("read").get(projection="order_view")
    assert orders.status == "failed"
    assert "MISMATCH" in orders.result and "1 row(s) differ" in orders.result
    assert f"{order_id} (total)" in orders.result
    console("verify", "product_sales")
    products = Rebuild.objects.using("read").get(projection="product_sales").result
    assert "1 missing" in products and "B-2 (missing)" in products
    assert "MISMATCH" in console.page()
    assert snapshot() == corrupted  # verify never repairs: rebuild does


def test_verify_does_not_count_lag_as_a_mismatch(console, no_nudge):
    place("alice")
    catch_up()
    place("bob")
    console("verify", "order_view")
    result = Rebuild.objects.using("read").get().result
    assert result.startswith("order_view: matches the event log (1 rows)")
    assert "lagging" in result


def test_an_unknown_projection_or_operation_is_refused(console):
    assert console("drop", "order_view") == ["Unknown projection or operation."]
    assert console("verify", "nope") == ["Unknown projection or operation."]


def test_a_lost_lock_or_connection_says_try_again(console, monkeypatch):
    def busy(*args, **kwargs):
        raise OperationalError("could not obtain lock")

    monkeypatch.setattr(rebuilds, "rebuild_request", busy)
    [message] = console("rebuild", "order_view")
    assert message == "order_view: not done, try again (OperationalError: could not obtain lock)"


def test_the_console_shows_each_partition_of_a_partitioned_projection(console, settings):
    settings.ORDINAL_PROJECTION_PARTITIONS = 3
    catch_up()
    place("alice")
    html = console.page()
    assert html.count('class="partitions"') == len(PROJECTORS)
    assert "#0: " in html and "#2: " in html and "#3: " not in html
