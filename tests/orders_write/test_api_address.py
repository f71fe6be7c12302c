"""POST /api/orders/ takes the structured shipping address, and the legacy free-form one."""

import pytest

from eventlog.models import Event
from orders_read import runner
from orders_write.domain.address import address_from_free_form
from tests.personal import opened_data

from .conftest import assert_problem, place, place_body, post

pytestmark = pytest.mark.django_db(databases=["default", "read"])

STRUCTURED = {
    "name": "Kari Nordmann",
    "line1": "Karl Johans gate 1",
    "line2": "H0101",
    "city": "Oslo",
    "postal_code": "0154",
    "country": "NO",
}


def shown_address(client, order_id: str):
    for name in runner.projection_names():
        runner.projection_catch_up(name)
    return client.get(f"/api/orders/{order_id}/").json()["shipping_address"]


def stored_address(order_id: str):
    event = Event.objects.get(stream_id=order_id, version=1)
    assert event.schema_version == 2
    return opened_data(event)["shipping_address"]


def test_the_structured_address_is_stored_and_shown(alice_client):
    order_id = place(alice_client, shipping_address=STRUCTURED)
    assert stored_address(order_id) == STRUCTURED
    assert shown_address(alice_client, order_id) == STRUCTURED


def test_optional_parts_may_be_left_out(alice_client):
    given = {"line1": "Karl Johans gate 1", "city": "Oslo", "country": "NO"}
    order_id = place(alice_client, shipping_address=given)
    assert stored_address(order_id) == {**given, "name": "", "line2": "", "postal_code": ""}


@pytest.mark.parametrize("address", [None, {}], ids=["null", "empty object"])
def test_no_address_is_null(alice_client, address):
    order_id = place(alice_client, shipping_address=address)
    assert stored_address(order_id) is None
    assert shown_address(alice_client, order_id) is None


def test_the_legacy_free_form_shape_is_mapped_as_the_upcaster_maps_stored_ones(alice_client):
    legacy = {
        "street": "1 Main St",
        "town": "Oslo",
        "zip": "0150",
        "country": "no",
        "region": "Oslo",
    }
    order_id = place(alice_client, shipping_address=legacy)
    assert stored_address(order_id) == address_from_free_form(legacy)
    assert stored_address(order_id) == {
        "name": "",
        "line1": "1 Main St",
        "line2": "region: Oslo",
        "city": "Oslo",
        "postal_code": "0150",
        "country": "NO",
    }


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({**STRUCTURED, "country": "Norway"}, "shipping_address.country"),
        ({**STRUCTURED, "country": "no"}, "shipping_address.country"),
        ({"line1": "x", "city": "Oslo"}, "shipping_address.country"),
        ({"city": "Oslo", "country": "NO"}, "shipping_address.line1"),
        ({**STRUCTURED, "city": 7}, "shipping_address.city"),
        ("Karl Johans gate 1, Oslo", "shipping_address"),
    ],
)
def test_a_bad_structured_address_is_a_400_naming_the_part_and_writes_nothing(
    alice_client, address, field
):
    response = post(alice_client, "/api/orders/", place_body(shipping_address=address))
    body = assert_problem(response, 400)
    assert field in body["errors"], body["errors"]
    assert not Event.objects.exists()


def test_the_schema_documents_both_shapes(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    field = schema["components"]["schemas"]["PlaceOrderInputRequest"]["properties"][
        "shipping_address"
    ]
    structured, legacy = field["anyOf"]
    assert set(structured["properties"]) == set(STRUCTURED)
    assert structured["required"] == ["line1", "city", "country"]
    assert "NO" in structured["properties"]["country"]["enum"]
    assert legacy["deprecated"] is True and field["nullable"] is True
    output = schema["components"]["schemas"]["ShippingAddressOutput"]
    assert set(output["properties"]) == set(STRUCTURED)
