"""Poison event (issue 5, item 9; DESIGN §3.6): one projection stops, visibly, and recovers once.

The product-sales handler fails for the order with SKU "BAD" (the `poison` fixture of
tests/orders_read/test_poison.py). Catch-ups run the way the worker runs them: the
`projections_catch_up` task, executed eagerly. The unit tests next to the fixture check
each part; this one runs the whole story, through the staff API.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from eventlog import store
from orders_read import runner, tasks
from orders_read.models import Checkpoint, ProductSales
from tests.orders_read.conftest import line, place
from tests.orders_read.test_poison import poison  # noqa: F401 (the fixture)

from .conftest import BOTH_DATABASES, positions, rebuilt, snapshot

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


def sweep() -> None:
    """What a command's nudge or the beat sweep sends: catch every projection up."""
    tasks.projections_catch_up.delay()


def status_by_name(staff_client) -> dict[str, dict]:
    response = staff_client.get("/api/projections/")
    assert response.status_code == 200, response.content
    return {row["name"]: row for row in response.json()}


def sales() -> dict[str, tuple[int, int]]:
    rows = ProductSales.objects.using("read").values_list("sku", "units_sold", "orders_count")
    return {sku: (units, orders) for sku, units, orders in rows}


def test_a_poison_event_stops_only_its_projection_until_fixed_then_applies_once(
    poison,  # noqa: F811
    eager,
    no_nudge,
    staff_client,
) -> None:
    place("alice", line("A-1", 1))
    before = store.head_position()
    place("alice", line("BAD", 3))
    bad = store.head_position()
    place("bob", line("A-1", 2))
    head = store.head_position()

    sweep()

    # The failing projection stopped just before the poison event, with the error recorded.
    stopped = Checkpoint.objects.using("read").get(name="product_sales")
    assert stopped.position == before
    assert stopped.error_position == bad
    assert "ValueError: cannot project SKU BAD" in stopped.last_error
    assert sales() == {"A-1": (1, 1)}
    # The others went on to the head.
    assert {name: at for name, at in positions().items() if name != "product_sales"} == {
        name: head for name in runner.projection_names() if name != "product_sales"
    }
    # Staff see it through the API.
    shown = status_by_name(staff_client)
    failing = shown["product_sales"]
    assert failing["status"] == "failing"
    assert failing["position"] == before and failing["head"] == head
    assert failing["lag_events"] == 2
    assert failing["last_error"]["position"] == bad
    assert "cannot project SKU BAD" in failing["last_error"]["message"]
    assert failing["last_error"]["attempts"] == 1
    for name in ("order_view", "customer_summary"):
        assert shown[name]["status"] == "up_to_date" and shown[name]["lag_events"] == 0

    # Sweeps before the retry time leave it where it is: never skipped, not hammered.
    sweep()
    assert positions()["product_sales"] == before and poison.calls == 1

    # The handler is fixed; at the retry time the next sweep applies the rest, once.
    poison.cured = True
    Checkpoint.objects.using("read").update(retry_at=timezone.now() - timedelta(seconds=1))
    sweep()
    sweep()  # a redelivered or duplicate sweep changes nothing
    assert poison.calls == 1
    assert positions() == {name: head for name in runner.projection_names()}
    assert sales() == {"A-1": (3, 2), "BAD": (3, 1)}
    recovered = status_by_name(staff_client)["product_sales"]
    assert (recovered["status"], recovered["lag_events"], recovered["last_error"]) == (
        "up_to_date",
        0,
        None,
    )

    # What was applied incrementally, around the failure, equals a replay of the log.
    assert snapshot() == rebuilt()
