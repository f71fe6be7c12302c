"""Poison event (DESIGN §3.6, §11): one order is parked, visibly, and recovers once.

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
from orders_read.models import ParkedStream, ProductSales
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


def test_a_poison_event_parks_only_its_order_until_fixed_then_applies_once(
    poison,  # noqa: F811
    eager,
    no_nudge,
    staff_client,
) -> None:
    place("alice", line("A-1", 1))
    bad_order = place("alice", line("BAD", 3))
    bad = store.head_position()
    place("bob", line("A-1", 2))
    head = store.head_position()

    sweep()

    # The poison event's stream is parked; every other event went through.
    parked = ParkedStream.objects.using("read").get()
    assert (parked.projection, parked.stream_id, parked.position) == (
        "product_sales",
        bad_order,
        bad,
    )
    assert "ValueError: cannot project SKU BAD" in parked.error
    assert sales() == {"A-1": (3, 2)}
    assert positions() == {name: head for name in runner.projection_names()}
    # Staff see it through the API.
    shown = status_by_name(staff_client)
    degraded = shown["product_sales"]
    assert degraded["status"] == "degraded" and degraded["parked_streams"] == 1
    assert degraded["lag_events"] == 0
    assert degraded["last_error"]["position"] == bad
    assert degraded["last_error"]["stream_id"] == str(bad_order)
    assert "cannot project SKU BAD" in degraded["last_error"]["message"]
    assert degraded["last_error"]["attempts"] == 1
    for name in [n for n in runner.projection_names() if n != "product_sales"]:
        assert shown[name]["status"] == "up_to_date" and shown[name]["parked_streams"] == 0

    # Sweeps before the retry time leave it parked: never skipped, not hammered.
    sweep()
    assert ParkedStream.objects.using("read").exists() and poison.calls == 1

    # The handler is fixed; at the retry time the next sweep applies it, once.
    poison.cured = True
    ParkedStream.objects.using("read").update(retry_at=timezone.now() - timedelta(seconds=1))
    sweep()
    sweep()  # a redelivered or duplicate sweep changes nothing
    assert poison.calls == 1
    assert not ParkedStream.objects.using("read").exists()
    assert sales() == {"A-1": (3, 2), "BAD": (3, 1)}
    recovered = status_by_name(staff_client)["product_sales"]
    assert (recovered["status"], recovered["parked_streams"], recovered["last_error"]) == (
        "up_to_date",
        0,
        None,
    )

    # What was applied incrementally, around the parking, equals a replay of the log.
    assert snapshot() == rebuilt()
