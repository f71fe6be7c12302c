"""The structured shipping address, and the mapping of free-form (v1) addresses onto it."""

import pytest

from orders_write.domain import values
from orders_write.domain.address import (
    COUNTRIES,
    ShippingAddress,
    address_from_free_form,
)
from orders_write.domain.errors import InvalidValue
from tests.old_events import v1_rows

OSLO = {"line1": "Karl Johans gate 1", "city": "Oslo", "country": "NO"}


def parts(**given: str) -> dict[str, str]:
    return {
        **dict.fromkeys(("name", "line1", "line2", "city", "postal_code", "country"), ""),
        **given,
    }


def test_there_are_the_249_alpha_2_codes():
    assert len(COUNTRIES) == 249
    assert {"NO", "US", "GB", "FR", "SE", "SS", "XK"} & COUNTRIES == {
        "NO",
        "US",
        "GB",
        "FR",
        "SE",
        "SS",
    }


class TestStructured:
    def test_line1_city_and_a_country_code_are_enough(self):
        assert values.shipping_address(OSLO) == ShippingAddress(**OSLO)

    def test_every_part_may_be_given(self):
        full = {**OSLO, "name": "Kari", "line2": "H0101", "postal_code": "0154"}
        assert values.shipping_address(full) == ShippingAddress(**full)

    @pytest.mark.parametrize("country", ["no", "NOR", "Norway", "ZZ", "UK", "", 47])
    def test_the_country_must_be_an_iso_3166_alpha_2_code(self, country):
        with pytest.raises(InvalidValue) as raised:
            values.shipping_address({**OSLO, "country": country})
        assert raised.value.field == "shipping_address.country"

    @pytest.mark.parametrize("missing", ["line1", "city", "country"])
    def test_line1_city_and_country_are_required(self, missing):
        given = {name: text for name, text in OSLO.items() if name != missing}
        with pytest.raises(InvalidValue) as raised:
            values.shipping_address(given)
        assert raised.value.field == f"shipping_address.{missing}"

    def test_parts_are_bounded_strings(self):
        for bad in ("x" * 201, 5, ["a"]):
            with pytest.raises(InvalidValue) as raised:
                values.shipping_address({**OSLO, "line2": bad})
            assert raised.value.field == "shipping_address.line2"

    def test_no_address_is_none(self):
        assert values.shipping_address(None) is None
        assert values.shipping_address({}) is None


class TestFreeForm:
    def test_the_documented_aliases(self):
        free = {
            "Full Name": "Bob",
            "street": "42 Elm Road",
            "Apartment": "Apt 7",
            "town": "Springfield",
            "zip": "12345",
            "country": " us ",
        }
        assert address_from_free_form(free) == parts(
            name="Bob",
            line1="42 Elm Road",
            line2="Apt 7",
            city="Springfield",
            postal_code="12345",
            country="US",
        )

    def test_unknown_keys_and_a_country_that_is_no_code_are_kept_in_line2_by_key_name(self):
        free = {"state": "IL", "city": "Paris", "country": "France", "line2": "3e", "a": "1"}
        assert address_from_free_form(free) == parts(
            line2="3e, a: 1, country: France, state: IL", city="Paris"
        )

    def test_two_keys_for_one_part_are_joined(self):
        free = {"street": "Main St", "address": "1", "country": "NO", "country_code": "SE"}
        assert address_from_free_form(free) == parts(line1="1, Main St", country="NO")

    def test_an_object_without_text_is_no_address(self):
        assert address_from_free_form({}) is None
        assert address_from_free_form({"street": " ", "city": ""}) is None

    def test_the_api_legacy_shape_is_mapped_the_same_way(self):
        free = {"street": "1 Main St", "city": "Oslo", "country": "NO"}
        assert values.shipping_address(free) == ShippingAddress(**address_from_free_form(free))


def test_every_address_of_the_v1_fixture_rows_maps_as_documented():
    mapped = [
        address_from_free_form(row["data"]["shipping_address"])
        for row in v1_rows()
        if row["type"] == "OrderPlaced"
    ]
    assert mapped == [
        parts(line1="1 Main St", city="Oslo", country="NO"),
        parts(
            name="Bob Builder",
            line1="42 Elm Road",
            line2="Apt 7, state: IL",
            city="Springfield",
            postal_code="12345",
            country="US",
        ),
        None,  # carol's: placed without an address, stored as {}
        parts(
            name="Alice Liddell",
            line1="Rue de la Paix 3",
            line2="3e etage, country: France",
            city="Paris",
            postal_code="75002",
        ),
        parts(
            line1="Drottninggatan 1",
            line2="note: leave at door",
            city="Stockholm",
            postal_code="111 51",
            country="SE",
        ),
        None,  # bob's second: an explicit {}
    ]
