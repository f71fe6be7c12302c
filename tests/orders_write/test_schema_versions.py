"""Event schema versions (DESIGN §10): decoding by field type, chained upcasters, the guard."""

import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

import pytest

from orders_write.domain import upcasting
from orders_write.domain.address import ShippingAddress
from orders_write.domain.events import (
    Event,
    OrderPlaced,
    UnknownSchemaVersion,
    event_from,
    schema_versions,
)
from orders_write.domain.upcasting import UPCASTERS, order_placed_v1_to_v2, upcast
from orders_write.domain.values import Line


@pytest.fixture
def test_only_event():
    """A test-only event type at v3 with upcasters v1 -> v2 -> v3; gone again afterwards."""

    @dataclass(frozen=True)
    class ParcelWeighed(Event):
        # v1 stored {"grams": int}; v2 renamed it "weight_g"; v3 stores kilograms as Decimal.
        weight_kg: Decimal
        label: str

        schema_version: ClassVar[int] = 3

    def v1_to_v2(data):
        data = dict(data)
        data["weight_g"] = data.pop("grams")
        return data

    def v2_to_v3(data):
        data = dict(data)
        data["weight_kg"] = str(Decimal(data.pop("weight_g")) / 1000)
        return data

    UPCASTERS[("ParcelWeighed", 1)] = v1_to_v2
    UPCASTERS[("ParcelWeighed", 2)] = v2_to_v3
    try:
        yield ParcelWeighed
    finally:
        del UPCASTERS[("ParcelWeighed", 1)], UPCASTERS[("ParcelWeighed", 2)]
        del Event.registry["ParcelWeighed"]


BASE = {"order_id": "o-1", "customer_id": "alice"}


# --- the guard -------------------------------------------------------------------------


def test_every_event_class_has_an_upcaster_for_every_step_up_to_its_version():
    """Bumping an event's schema_version without writing the upcaster fails here."""
    missing = [
        f"{name} v{version} -> v{version + 1}"
        for name, cls in Event.registry.items()
        for version in range(1, cls.schema_version)
        if (name, version) not in UPCASTERS
    ]
    assert missing == [], "write and register an upcaster for: " + ", ".join(missing)


def test_no_upcaster_lifts_an_event_past_its_class_or_names_an_unknown_type():
    stray = [
        f"{name} v{version}"
        for name, version in UPCASTERS
        if name not in Event.registry or version >= Event.registry[name].schema_version
    ]
    assert stray == []


def test_order_placed_is_at_v2_and_the_versions_are_listed():
    assert OrderPlaced.schema_version == 2
    assert schema_versions() == {
        "CustomerForgotten": 1,
        "ItemAdded": 1,
        "ItemQuantityChanged": 1,
        "ItemRemoved": 1,
        "OrderCancelled": 1,
        "OrderPlaced": 2,
        "OrderShipped": 1,
    }


# --- decoding by declared type ---------------------------------------------------------


def test_a_decimal_field_of_any_name_decodes_as_a_decimal():
    @dataclass(frozen=True)
    class DiscountGranted(Event):
        discount: Decimal
        reason: str
        units: int
        lines: tuple[Line, ...]
        address: ShippingAddress | None

    try:
        event = DiscountGranted(
            **BASE,
            discount=Decimal("2.50"),
            reason="loyal",
            units=3,
            lines=(Line("A-1", 2, Decimal("1.10")),),
            address=ShippingAddress(line1="1 Main St", city="Oslo", country="NO"),
        )
        back = event_from("DiscountGranted", event.to_data())
        assert back == event
        assert type(back.discount) is Decimal and type(back.lines[0].unit_price) is Decimal
        assert type(back.address) is ShippingAddress
        assert event_from("DiscountGranted", {**event.to_data(), "address": None}).address is None
    finally:
        del Event.registry["DiscountGranted"]


def test_an_undecodable_field_type_is_refused_by_name():
    @dataclass(frozen=True)
    class Odd(Event):
        parts: list[str]

    try:
        with pytest.raises(TypeError, match="No decoder"):
            Odd.from_data({**BASE, "parts": ["a"]})
    finally:
        del Event.registry["Odd"]


# --- chained upcasters -----------------------------------------------------------------


def test_upcasters_chain_from_any_stored_version_to_the_current_one(test_only_event):
    v1 = {**BASE, "grams": 1250, "label": "fragile"}
    v2 = {**BASE, "weight_g": 1250, "label": "fragile"}
    v3 = {**BASE, "weight_kg": "1.25", "label": "fragile"}
    assert upcast("ParcelWeighed", 1, v1) == v3
    assert upcast("ParcelWeighed", 2, v2) == v3
    assert upcast("ParcelWeighed", 3, v3) == v3
    expected = test_only_event(**BASE, weight_kg=Decimal("1.25"), label="fragile")
    assert event_from("ParcelWeighed", v1, 1) == event_from("ParcelWeighed", v2, 2) == expected


def test_upcasting_never_changes_the_stored_data(test_only_event):
    v1 = {**BASE, "grams": 1250, "label": "fragile"}
    kept = copy.deepcopy(v1)
    event_from("ParcelWeighed", v1, 1)
    assert v1 == kept
    placed = {**BASE, "shipping_address": {"street": "1 Main St"}}
    kept = copy.deepcopy(placed)
    order_placed_v1_to_v2(placed)
    assert placed == kept


def test_a_version_newer_than_the_code_or_a_broken_chain_is_refused(test_only_event):
    with pytest.raises(UnknownSchemaVersion, match="v4"):
        event_from("ParcelWeighed", {**BASE, "weight_kg": "1", "label": ""}, 4)
    del UPCASTERS[("ParcelWeighed", 2)]
    try:
        with pytest.raises(UnknownSchemaVersion, match="reaches v2, not v3"):
            event_from("ParcelWeighed", {**BASE, "grams": 1, "label": ""}, 1)
    finally:
        UPCASTERS[("ParcelWeighed", 2)] = lambda data: data


def test_order_placed_v1_is_upcast_to_the_structured_address():
    v1 = {
        **BASE,
        "currency": "EUR",
        "items": [{"sku": "A-1", "quantity": 1, "unit_price": "1.00"}],
        "shipping_address": {"street": "1 Main St", "city": "Oslo", "country": "NO"},
        "total": "1.00",
    }
    event = event_from("OrderPlaced", v1, 1)
    assert event.shipping_address == ShippingAddress(line1="1 Main St", city="Oslo", country="NO")
    assert event_from("OrderPlaced", {**v1, "shipping_address": {}}, 1).shipping_address is None
    assert upcasting.lift("OrderPlaced", 1, v1)[0] == 2
