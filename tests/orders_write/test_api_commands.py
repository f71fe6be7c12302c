"""The command endpoints' happy paths: status, body, ETag, and the events they append."""

import uuid
from unittest import mock

import pytest

from eventlog.models import Event
from tests.orders_write.conftest import item, order_path, place, place_body, post
from tests.personal import opened_data

pytestmark = pytest.mark.django_db(databases=["default", "read"])


def assert_command_result(response, status: int, order_id, version: int) -> dict:
    """Check a command's success: status, {order_id, version, position}, ETag."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"order_id", "version", "position"}
    assert body["order_id"] == str(order_id)
    assert body["version"] == version
    assert response["ETag"] == f'"{version}"'
    last = Event.objects.filter(stream_id=order_id).latest("position")
    assert (last.version, last.position) == (version, body["position"])
    return body


def last_event(order_id) -> Event:
    return Event.objects.filter(stream_id=order_id).latest("version")


def test_place_order_answers_201_with_location_and_records_order_placed(alice_client):
    response = post(
        alice_client,
        "/api/orders/",
        place_body(shipping_address={"line1": "1 rue X", "city": "Lyon", "country": "FR"}),
    )

    order_id = uuid.UUID(response.json()["order_id"])
    assert_command_result(response, 201, order_id, 1)
    assert response["Location"] == f"/api/orders/{order_id}/"
    event = Event.objects.get(stream_id=order_id)
    assert (event.type, event.stream_type, event.version) == ("OrderPlaced", "order", 1)
    assert event.data["customer_id"] == "alice"
    assert event.data["total"] == "25.50"
    assert event.data["items"][0] == {"sku": "A-1", "quantity": 2, "unit_price": "10.00"}
    # Stored sealed (DESIGN §12): in clear only once opened with the customer's data key.
    assert "shipping_address" not in event.data
    assert opened_data(event)["shipping_address"] == {
        "name": "",
        "line1": "1 rue X",
        "line2": "",
        "city": "Lyon",
        "postal_code": "",
        "country": "FR",
    }
    assert event.schema_version == 2  # OrderPlaced's current shape (DESIGN §10)


def test_staff_places_an_order_for_any_customer(staff_client, carol):
    order_id = place(staff_client, customer_id="carol")
    event = Event.objects.get(stream_id=order_id)
    assert event.data["customer_id"] == "carol"
    assert event.metadata["actor"] == "stella"


def test_a_customer_may_name_themself_as_customer(alice_client):
    order_id = place(alice_client, customer_id="alice")
    assert Event.objects.get(stream_id=order_id).data["customer_id"] == "alice"


def test_add_item_appends_item_added(alice_client, alice_order):
    response = post(alice_client, order_path(alice_order, "add-item"), item("C-3", 3, "2.25"))

    assert_command_result(response, 200, alice_order, 2)
    event = last_event(alice_order)
    assert event.type == "ItemAdded"
    assert (event.data["sku"], event.data["quantity"], event.data["unit_price"]) == (
        "C-3",
        3,
        "2.25",
    )
    assert event.data["total"] == "32.25"


def test_change_quantity_appends_item_quantity_changed_with_the_unit_price(
    alice_client, alice_order
):
    response = post(
        alice_client, order_path(alice_order, "change-quantity"), {"sku": "A-1", "quantity": 5}
    )

    assert_command_result(response, 200, alice_order, 2)
    event = last_event(alice_order)
    assert event.type == "ItemQuantityChanged"
    assert event.data["quantity"] == 5
    assert event.data["previous_quantity"] == 2
    assert event.data["unit_price"] == "10.00"


def test_remove_item_appends_item_removed(alice_client, alice_order):
    response = post(alice_client, order_path(alice_order, "remove-item"), {"sku": "B-2"})

    assert_command_result(response, 200, alice_order, 2)
    assert last_event(alice_order).type == "ItemRemoved"
    assert last_event(alice_order).data["total"] == "20.00"


def test_staff_ships_an_order_with_a_tracking_number(staff_client, alice_order):
    response = post(staff_client, order_path(alice_order, "ship"), {"tracking_number": "TRK-9"})

    assert_command_result(response, 200, alice_order, 2)
    event = last_event(alice_order)
    assert (event.type, event.data["tracking_number"]) == ("OrderShipped", "TRK-9")


def test_ship_needs_no_body(staff_client, alice_order):
    response = staff_client.post(order_path(alice_order, "ship"))
    assert_command_result(response, 200, alice_order, 2)


def test_owner_cancels_an_order_with_a_reason(alice_client, alice_order):
    response = post(alice_client, order_path(alice_order, "cancel"), {"reason": "changed my mind"})

    assert_command_result(response, 200, alice_order, 2)
    event = last_event(alice_order)
    assert (event.type, event.data["reason"]) == ("OrderCancelled", "changed my mind")


def test_staff_may_change_a_customers_order(staff_client, alice_order):
    response = post(staff_client, order_path(alice_order, "add-item"), item())
    assert_command_result(response, 200, alice_order, 2)
    assert last_event(alice_order).metadata["actor"] == "stella"


def test_versions_and_positions_grow_with_each_command(alice_client, alice_order):
    first = post(alice_client, order_path(alice_order, "add-item"), item("C-3")).json()
    second = post(alice_client, order_path(alice_order, "add-item"), item("D-4")).json()
    assert (first["version"], second["version"]) == (2, 3)
    assert second["position"] > first["position"]


def test_event_metadata_names_actor_command_correlation_and_causation(alice_client):
    response = post(
        alice_client,
        "/api/orders/",
        place_body(),
        HTTP_X_REQUEST_ID="req-42",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )

    assert response["X-Request-ID"] == "req-42"
    metadata = Event.objects.get(stream_id=response.json()["order_id"]).metadata
    assert metadata["actor"] == "alice"
    assert metadata["command"] == "PlaceOrder"
    assert metadata["correlation_id"] == "req-42"
    assert metadata["idempotency_key"] == "key-1"
    uuid.UUID(metadata["causation_id"])


EVERY_ORDER_COMMAND = {
    "add-item": (item("C-3"), "AddItem"),
    "change-quantity": ({"sku": "A-1", "quantity": 7}, "ChangeItemQuantity"),
    "remove-item": ({"sku": "B-2"}, "RemoveItem"),
    "ship": ({"tracking_number": "T-1"}, "ShipOrder"),
    "cancel": ({"reason": "late"}, "CancelOrder"),
}


@pytest.mark.parametrize(
    ("action", "body", "command"), [(a, *bc) for a, bc in EVERY_ORDER_COMMAND.items()]
)
def test_every_command_records_its_metadata(staff_client, alice_order, action, body, command):
    response = post(
        staff_client,
        order_path(alice_order, action),
        body,
        HTTP_X_REQUEST_ID=f"req-{action}",
        HTTP_IDEMPOTENCY_KEY=f"key-{action}",
    )

    assert_command_result(response, 200, alice_order, 2)
    metadata = last_event(alice_order).metadata
    assert metadata == {
        "actor": "stella",
        "command": command,
        "correlation_id": f"req-{action}",
        "causation_id": metadata["causation_id"],
        "idempotency_key": f"key-{action}",
    }
    uuid.UUID(metadata["causation_id"])


def test_without_a_request_id_the_correlation_id_is_generated_and_echoed(alice_client, alice_order):
    response = post(alice_client, order_path(alice_order, "cancel"))

    metadata = last_event(alice_order).metadata
    assert metadata["correlation_id"] == response["X-Request-ID"]
    uuid.UUID(metadata["correlation_id"])
    assert "idempotency_key" not in metadata
    assert metadata["command"] == "CancelOrder"


def test_each_command_has_its_own_causation_id(alice_client, alice_order):
    post(alice_client, order_path(alice_order, "add-item"), item(), HTTP_X_REQUEST_ID="same")
    post(alice_client, order_path(alice_order, "cancel"), HTTP_X_REQUEST_ID="same")
    causes = [e.metadata["causation_id"] for e in Event.objects.filter(stream_id=alice_order)]
    assert len(set(causes)) == 3


def test_an_invalid_request_id_is_replaced_not_stored(alice_client):
    response = post(alice_client, "/api/orders/", place_body(), HTTP_X_REQUEST_ID="has space")
    metadata = Event.objects.get(stream_id=response.json()["order_id"]).metadata
    assert metadata["correlation_id"] != "has space"
    assert metadata["correlation_id"] == response["X-Request-ID"]


def test_the_largest_valid_values_are_accepted(alice_client):
    items = [item(f"S{n:03}", 10_000, "1000000.00") for n in range(100)]
    items[0]["sku"] = "x" * 64
    address = {f"field{n}": "y" * 200 for n in range(10)}
    order_id = place(alice_client, items=items, shipping_address=address)
    assert Event.objects.get(stream_id=order_id).data["total"] == "1000000000000.00"


@pytest.mark.parametrize("price", ["0", "0.5", "12", "12.3", "12.30", "1000000"])
def test_unit_prices_are_decimal_strings_of_at_most_two_places(alice_client, price):
    order_id = place(alice_client, items=[item("A", 1, price)])
    stored = Event.objects.get(stream_id=order_id).data["items"][0]["unit_price"]
    assert stored == f"{float(price):.2f}"


# --- the post-commit nudge of the read side ---------------------------------------


@pytest.fixture
def nudge():
    with mock.patch("config.bootstrap.enqueue_catch_up") as enqueue:
        yield enqueue


def test_a_successful_command_nudges_the_projections_once_after_commit(
    alice_client, alice_order, nudge, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(alice_client, order_path(alice_order, "add-item"), item())
    assert response.status_code == 200
    assert nudge.call_count == 0, "the nudge must wait for the commit"
    for callback in callbacks:
        callback()
    assert nudge.call_count == 1


def test_a_refused_command_does_not_nudge(
    alice_client, alice_order, nudge, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(alice_client, order_path(alice_order, "remove-item"), {"sku": "Z"})
    assert response.status_code == 409
    assert (callbacks, nudge.call_count) == ([], 0)


def test_a_replayed_idempotent_request_does_not_nudge_again(
    alice_client, nudge, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(alice_client, "/api/orders/", place_body(), HTTP_IDEMPOTENCY_KEY="k")
        post(alice_client, "/api/orders/", place_body(), HTTP_IDEMPOTENCY_KEY="k")
    assert nudge.call_count == 1
