"""/metrics after traffic: commands, events, queries, catch-ups, parking and tasks move it."""

import pytest
from celery import shared_task
from django.db import OperationalError

from config.problems import TYPE_PREFIX
from eventlog import store
from orders_read import runner, tasks
from orders_read.projectors.products import ProductSalesProjector

from .conftest import BOTH_DATABASES
from .scrape import moved, parsed, value

pytestmark = pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)

ORDER = {"currency": "EUR", "items": [{"sku": "A-1", "quantity": 2, "unit_price": "1.50"}]}


@pytest.fixture
def bad_sku_fails(monkeypatch):
    """Product sales cannot project an order with SKU "BAD": its stream parks."""
    original = ProductSalesProjector.on_order_placed

    def on_order_placed(self, event):
        if any(item["sku"] == "BAD" for item in event.data["items"]):
            raise ValueError("cannot project SKU BAD")
        original(self, event)

    monkeypatch.setattr(ProductSalesProjector, "on_order_placed", on_order_placed)


@pytest.fixture
def no_nudge(monkeypatch):
    """Commands enqueue no catch-up: the test runs the projections itself."""
    monkeypatch.setattr("config.bootstrap.enqueue_catch_up", lambda position: None)


def place(client, **body) -> dict:
    response = client.post("/api/orders/", {**ORDER, **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_commands_count_by_type_and_outcome_with_their_problem_type(
    alice_client, staff_client, scrape, no_nudge
):
    before = scrape()
    order = place(alice_client)
    path = f"/api/orders/{order['order_id']}/cancel/"
    assert staff_client.post(path, {}, format="json").status_code == 200
    refused = staff_client.post(path, {}, format="json")
    assert refused.status_code == 409
    problem = refused.json()["type"].removeprefix(TYPE_PREFIX)
    after = scrape()

    count = "ordinal_commands_total"
    assert moved(before, after, count, command="PlaceOrder", outcome="succeeded") == 1
    assert moved(before, after, count, command="CancelOrder", outcome="succeeded") == 1
    assert moved(before, after, count, command="CancelOrder", outcome="refused") == 1
    assert moved(before, after, count, command="CancelOrder", problem=problem) == 1
    timed = "ordinal_command_duration_seconds_count"
    assert moved(before, after, timed, command="CancelOrder") == 2
    assert moved(before, after, "ordinal_command_duration_seconds_sum", command="PlaceOrder") > 0
    appended = "ordinal_events_appended_total"
    assert moved(before, after, appended, event_type="OrderPlaced") == 1
    assert moved(before, after, appended, event_type="OrderCancelled") == 1
    assert moved(before, after, appended) == 2  # nothing for the refused one


def test_a_command_that_fails_counts_as_an_error(alice_client, scrape, monkeypatch, no_nudge):
    def database_down(*args, **kwargs):
        raise OperationalError("the write database went away")

    monkeypatch.setattr(store, "append", database_down)
    before = scrape()
    response = alice_client.post("/api/orders/", ORDER, format="json")
    assert response.status_code == 503
    after = scrape()
    labels = {"command": "PlaceOrder", "outcome": "error", "problem": "service-unavailable"}
    assert moved(before, after, "ordinal_commands_total", **labels) == 1
    assert moved(before, after, "ordinal_events_appended_total") == 0


def test_queries_count_by_endpoint_and_status_and_are_timed(alice_client, scrape, no_nudge):
    order = place(alice_client)
    runner.projection_catch_up("order_view")
    before = scrape()
    assert alice_client.get(f"/api/orders/{order['order_id']}/").status_code == 200
    assert alice_client.get(f"/api/orders/{order['order_id']}/").status_code == 200
    missing = "/api/orders/00000000-0000-0000-0000-000000000000/"
    assert alice_client.get(missing).status_code == 404
    assert alice_client.get("/api/orders/").status_code == 200
    after = scrape()

    count = "ordinal_queries_total"
    assert moved(before, after, count, endpoint="orders-detail", status="200") == 2
    assert moved(before, after, count, endpoint="orders-detail", status="404") == 1
    assert moved(before, after, count, endpoint="orders-list", status="200") == 1
    assert moved(before, after, "ordinal_query_duration_seconds_count") == 4
    # Commands are not queries, nor is the scrape itself.
    place(alice_client)
    assert moved(after, scrape(), count) == 0


def test_projection_gauges_follow_the_log_a_catch_up_and_a_parked_stream(
    alice_client, scrape, bad_sku_fails, no_nudge
):
    place(alice_client)
    place(alice_client, items=[{"sku": "BAD", "quantity": 1, "unit_price": "1.00"}])
    head = store.head_position()
    behind = scrape()
    sales = {"projection": "product_sales", "partition": "0"}
    assert value(behind, "ordinal_event_log_head_position") == head
    assert value(behind, "ordinal_projection_position", **sales) == 0
    assert value(behind, "ordinal_projection_lag_events", **sales) == 2
    assert value(behind, "ordinal_projection_lag_seconds", **sales) > 0
    assert value(behind, "ordinal_projection_parked_streams", **sales) == 0

    tasks.projection_catch_up.apply(args=["product_sales"])  # a Celery task, run here
    caught_up = scrape()
    assert value(caught_up, "ordinal_projection_position", **sales) == head
    assert value(caught_up, "ordinal_projection_lag_events", **sales) == 0
    assert value(caught_up, "ordinal_projection_lag_seconds", **sales) == 0
    assert value(caught_up, "ordinal_projection_parked_streams", **sales) == 1
    views = {"projection": "order_view", "partition": "0"}
    assert value(caught_up, "ordinal_projection_lag_events", **views) == 2  # not run yet
    assert value(caught_up, "ordinal_projection_status_up") == 1
    succeeded = {"task": "orders_read.projection_catch_up", "outcome": "succeeded"}
    assert moved(behind, caught_up, "ordinal_celery_tasks_total", **succeeded) == 1


def test_a_partitioned_projection_has_gauges_per_partition(
    alice_client, scrape, bad_sku_fails, no_nudge, settings
):
    from orders_read import partitions, runner
    from orders_read.retries import parked_retry

    settings.ORDINAL_PROJECTION_PARTITIONS = 3
    for name in runner.projection_names():
        runner.projection_catch_up(name)  # split at the start
    place(alice_client, items=[{"sku": "BAD", "quantity": 1, "unit_price": "1.00"}])
    bad = store.read_all()[-1].stream_id
    mine = partitions.partition_of(bad, 3)
    runner.projection_catch_up("product_sales", partition=mine)
    assert parked_retry("product_sales", force=True).failed

    samples = scrape()
    for p in range(3):
        sales = {"projection": "product_sales", "partition": str(p)}
        lag = value(samples, "ordinal_projection_lag_events", **sales)
        parked = value(samples, "ordinal_projection_parked_streams", **sales)
        assert (lag, parked) == ((0, 1) if p == mine else (1, 0)), p
    assert (
        value(
            samples, "ordinal_projection_position", projection="product_sales", partition=str(mine)
        )
        == store.head_position()
    )


def test_inbox_depth_counts_queued_commands_until_they_run(alice_client, scrape, monkeypatch):
    from orders_write.inbox.entries import commands_waiting

    monkeypatch.setattr("config.bootstrap.enqueue_command_run", lambda command_id: None)
    before = scrape()
    for _ in range(2):
        response = alice_client.post(
            "/api/orders/", ORDER, format="json", HTTP_PREFER="respond-async"
        )
        assert response.status_code == 202, response.content
    queued = scrape()
    assert (
        value(queued, "ordinal_command_inbox_depth", status="queued")
        == value(before, "ordinal_command_inbox_depth", status="queued") + 2
    )
    assert commands_waiting()["queued"] == value(
        queued, "ordinal_command_inbox_depth", status="queued"
    )
    from config.bootstrap import command_runner
    from orders_write.models import InboxCommand

    for entry in InboxCommand.objects.filter(status="queued"):
        command_runner().run(entry.command_id)
    ran = scrape()
    assert value(ran, "ordinal_command_inbox_depth", status="queued") == 0
    assert value(ran, "ordinal_command_inbox_depth", status="running") == 0


@shared_task(name="tests.metrics.flaky", bind=True, max_retries=1)
def flaky(self, fail_for_good: bool) -> None:
    if fail_for_good:
        raise ValueError("broken for good")
    if not self.request.retries:
        raise self.retry(countdown=0)


def test_celery_task_outcomes_count_failed_and_retried_tasks_too(scrape):
    before = scrape()
    flaky.apply(args=[False])  # retried once, then succeeds
    flaky.apply(args=[True])
    after = scrape()
    task = "tests.metrics.flaky"
    assert moved(before, after, "ordinal_celery_tasks_total", task=task, outcome="retried") == 1
    assert moved(before, after, "ordinal_celery_tasks_total", task=task, outcome="failed") == 1
    assert moved(before, after, "ordinal_celery_tasks_total", task=task, outcome="succeeded") == 1


def test_a_database_that_does_not_answer_still_gives_the_process_metrics(
    client, scrape, monkeypatch
):
    def unreachable():
        raise OperationalError("the read database is down")

    monkeypatch.setattr("config.metrics_view.projection_lag_list", unreachable)
    samples = scrape()
    assert value(samples, "ordinal_projection_status_up") == 0
    assert not [name for name, _ in samples if name.startswith("ordinal_projection_position")]


def test_a_tree_swept_during_the_scrape_is_left_out_not_an_error(client, monkeypatch):
    assert client.get("/api/").status_code == 200  # this process has files to read

    def swept(files):
        raise FileNotFoundError(files[0])

    monkeypatch.setattr("config.metrics_view.MultiProcessCollector.merge", swept)
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    samples = parsed(response.content.decode())
    assert value(samples, "ordinal_projection_status_up") == 1
    assert value(samples, "ordinal_queries_total") == 0
