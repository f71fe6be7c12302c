"""Validation messages: each says what is wrong with the value sent, in one style.

The style is DRF's own ("This field is required."): a sentence that starts with a
capital letter (or a quoted value) and ends with a period.
"""

import json

import pytest

from tests.orders_write.conftest import (
    assert_problem,
    assert_validation_problem,
    item,
    order_path,
    place_body,
    post,
)
from tests.orders_write.test_api_validation import (
    INVALID_ORDER_COMMANDS,
    INVALID_PLACE_ORDERS,
    MALFORMED_BODIES,
)

pytestmark = pytest.mark.django_db(databases=["default", "read"])


def with_item(**fields) -> dict:
    return place_body(items=[{**item("A"), **fields}])


def in_style(message: str) -> bool:
    return (message[:1].isupper() or message.startswith('"')) and message.endswith(".")


MONEY = 'e.g. "12.50"'
PLACE_ORDER_MESSAGES = {
    # currency: an unknown code and a malformed one are told apart
    "currency well formed, unknown": (place_body(currency="ZZZ"), "Not an ISO 4217 currency."),
    "currency funds code": (place_body(currency="XXX"), "Not an ISO 4217 currency."),
    "currency lower-case": (
        place_body(currency="eur"),
        'Must be an ISO 4217 code of 3 upper-case letters, e.g. "EUR".',
    ),
    "currency as number": (place_body(currency=978), "Not a valid string."),
    # unit_price
    "unit_price negative": (with_item(unit_price="-1.00"), "Must not be negative."),
    "unit_price negative cent": (with_item(unit_price="-0.01"), "Must not be negative."),
    "unit_price negative zero": (with_item(unit_price="-0"), "Must be written without a sign."),
    "unit_price plus sign": (with_item(unit_price="+1.00"), "Must be written without a sign."),
    "unit_price 3 places": (with_item(unit_price="1.005"), "Must have at most 2 decimal places."),
    "unit_price 3 places of zeros": (
        with_item(unit_price="1.500"),
        "Must have at most 2 decimal places.",
    ),
    "unit_price above the bound": (with_item(unit_price="1000000.01"), "Must be at most 1000000."),
    "unit_price exponent": (
        with_item(unit_price="1e2"),
        f"Must be written as digits with at most 2 decimal places, {MONEY}.",
    ),
    "unit_price words": (
        with_item(unit_price="ten"),
        f"Must be written as digits with at most 2 decimal places, {MONEY}.",
    ),
    "unit_price JSON number": (
        with_item(unit_price=12.5),
        f"Must be a decimal string, {MONEY}, not a JSON number.",
    ),
    "unit_price true": (with_item(unit_price=True), f"Must be a decimal string, {MONEY}."),
    "unit_price list": (with_item(unit_price=["1"]), f"Must be a decimal string, {MONEY}."),
    # quantity, sku, items
    "quantity as string": (with_item(quantity="2"), "Must be a JSON integer, e.g. 3."),
    "quantity as true": (with_item(quantity=True), "Must be a JSON integer, e.g. 3."),
    "sku with a space": (
        with_item(sku="A 1"),
        "Must be 1 to 64 ASCII letters, digits, hyphens, underscores or dots.",
    ),
    "repeated SKU": (
        place_body(items=[item("A"), item("B"), item("A", 2)]),
        "SKU A is on more than one line; each SKU may appear only once.",
    ),
    # shipping_address: a message about one entry names that entry
    "address with 11 fields": (
        place_body(shipping_address={f"f{n}": "x" for n in range(11)}),
        "Must be an object of at most 10 fields.",
    ),
    "address as a string": (
        place_body(shipping_address="1 rue X"),
        "Must be an object of at most 10 fields.",
    ),
    "address field name too long": (
        place_body(shipping_address={"k" * 65: "v"}),
        "Field names must be 1 to 64 characters.",
    ),
}


@pytest.mark.parametrize(
    ("body", "message"), PLACE_ORDER_MESSAGES.values(), ids=PLACE_ORDER_MESSAGES.keys()
)
def test_each_invalid_value_gets_its_own_accurate_message(alice_client, body, message):
    errors = assert_validation_problem(post(alice_client, "/api/orders/", body))["errors"]
    assert [message] in errors.values(), errors


def test_a_message_about_one_address_entry_names_that_entry(alice_client):
    body = place_body(shipping_address={"city": "Oslo", "street": "x" * 201})
    errors = assert_validation_problem(post(alice_client, "/api/orders/", body))["errors"]
    assert errors == {"shipping_address.street": ["Must be a string of at most 200 characters."]}


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        ("If-Match", "3", 'Must be * or a version of at most 9 digits in quotes, e.g. "3".'),
        ("Idempotency-Key", "has space", "Must be 1 to 255 visible ASCII characters."),
    ],
)
def test_a_malformed_header_gets_an_accurate_message(alice_client, header, value, message):
    order_id = post(alice_client, "/api/orders/", place_body()).json()["order_id"]
    headers = {f"HTTP_{header.upper().replace('-', '_')}": value}
    response = post(alice_client, order_path(order_id, "cancel"), {}, **headers)
    assert assert_validation_problem(response)["errors"] == {header: [message]}


def messages_of(response) -> list[str]:
    return [m for messages in response.json().get("errors", {}).values() for m in messages]


def test_every_place_order_message_is_in_one_style(alice_client):
    for body, _ in INVALID_PLACE_ORDERS.values():
        for message in messages_of(post(alice_client, "/api/orders/", body)):
            assert in_style(message), message


def test_every_order_command_message_is_in_one_style(staff_client, alice_client):
    order_id = post(alice_client, "/api/orders/", place_body()).json()["order_id"]
    for action, body, _ in INVALID_ORDER_COMMANDS.values():
        for message in messages_of(post(staff_client, order_path(order_id, action), body)):
            assert in_style(message), message


def test_every_query_message_is_in_one_style(alice_client):
    for query in [
        "colour=red",
        "status=lost",
        "placed_after=yesterday",
        "page_size=0",
        "page_size=101",
        "cursor=bogus",
        "min_position=-1",
        "min_position=x",
        "customer_id=" + "c" * 151,
    ]:
        messages = messages_of(alice_client.get(f"/api/orders/?{query}"))
        assert messages, query
        assert all(in_style(message) for message in messages), (query, messages)


@pytest.mark.parametrize("raw", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_every_malformed_body_detail_is_one_sentence(alice_client, raw):
    detail = assert_problem(post(alice_client, "/api/orders/", raw=raw), 400)["detail"]
    assert in_style(detail) and detail.startswith("The body "), detail


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (
            b'{"currency": "EUR", ',
            "The body is not valid JSON: expecting property name enclosed "
            "in double quotes at line 1, column 21.",
        ),
        (b'{"currency": NaN}', "The body is not valid JSON: NaN is not a JSON value."),
        (b'{"a": "\xff"}', "The body is not valid UTF-8."),
        (
            json.dumps({"a": "x\x00"}).encode(),
            "The body holds a NUL character (\\u0000), which is refused.",
        ),
        (b'{"a": 1' + b"0" * 5000 + b"}", "The body holds a number of more than 4300 digits."),
    ],
    ids=["truncated", "NaN", "not UTF-8", "NUL", "long number"],
)
def test_a_malformed_body_is_told_why(alice_client, raw, detail):
    assert assert_problem(post(alice_client, "/api/orders/", raw=raw), 400)["detail"] == detail
