"""Invalid and hostile input: every one is a 400 problem that names the field and writes nothing."""

import json

import pytest

from tests.orders_write.conftest import (
    appends_nothing,
    assert_problem,
    assert_validation_problem,
    item,
    order_path,
    place_body,
    post,
)

pytestmark = pytest.mark.django_db(databases=["default", "read"])

LONG = "x" * 201


def with_item(**fields) -> dict:
    return place_body(items=[{**item("A"), **fields}])


INVALID_PLACE_ORDERS = {
    # quantity: a JSON integer from 1 to 10000, never coerced
    "quantity as string": (with_item(quantity="2"), "items.0.quantity"),
    "quantity as float": (with_item(quantity=2.0), "items.0.quantity"),
    "quantity as fraction": (with_item(quantity=1.5), "items.0.quantity"),
    "quantity as true": (with_item(quantity=True), "items.0.quantity"),
    "quantity null": (with_item(quantity=None), "items.0.quantity"),
    "quantity zero": (with_item(quantity=0), "items.0.quantity"),
    "quantity negative": (with_item(quantity=-1), "items.0.quantity"),
    "quantity above 10000": (with_item(quantity=10_001), "items.0.quantity"),
    "quantity with 4000 digits": (with_item(quantity=10**3999), "items.0.quantity"),
    "quantity missing": (place_body(items=[{"sku": "A", "unit_price": "1"}]), "items.0.quantity"),
    # unit_price: a decimal string, 0..1000000, at most 2 places
    "unit_price as JSON number": (with_item(unit_price=12.5), "items.0.unit_price"),
    "unit_price as JSON integer": (with_item(unit_price=12), "items.0.unit_price"),
    "unit_price as true": (with_item(unit_price=True), "items.0.unit_price"),
    "unit_price with 3 decimals": (with_item(unit_price="1.005"), "items.0.unit_price"),
    "unit_price negative": (with_item(unit_price="-0.01"), "items.0.unit_price"),
    "unit_price above 1000000": (with_item(unit_price="1000000.01"), "items.0.unit_price"),
    "unit_price huge exponent": (with_item(unit_price="1e999999999"), "items.0.unit_price"),
    "unit_price tiny exponent": (with_item(unit_price="1e-999999999"), "items.0.unit_price"),
    "unit_price NaN string": (with_item(unit_price="NaN"), "items.0.unit_price"),
    "unit_price sNaN string": (with_item(unit_price="sNaN"), "items.0.unit_price"),
    "unit_price Infinity string": (with_item(unit_price="Infinity"), "items.0.unit_price"),
    "unit_price not a number": (with_item(unit_price="ten"), "items.0.unit_price"),
    "unit_price empty": (with_item(unit_price=""), "items.0.unit_price"),
    "unit_price 5000 digits": (with_item(unit_price="9" * 5000), "items.0.unit_price"),
    "unit_price with underscores": (with_item(unit_price="1_000.00"), "items.0.unit_price"),
    "unit_price with spaces": (with_item(unit_price=" 1.00 "), "items.0.unit_price"),
    "unit_price in exponent form": (with_item(unit_price="1e2"), "items.0.unit_price"),
    "unit_price negative zero": (with_item(unit_price="-0"), "items.0.unit_price"),
    "unit_price with a plus sign": (with_item(unit_price="+1.00"), "items.0.unit_price"),
    "unit_price with 3 places of zeros": (with_item(unit_price="1.500"), "items.0.unit_price"),
    "unit_price with Arabic-Indic digits": (
        with_item(unit_price="\u0661\u0662"),
        "items.0.unit_price",
    ),
    "unit_price without a leading digit": (with_item(unit_price=".5"), "items.0.unit_price"),
    "unit_price with a trailing dot": (with_item(unit_price="1."), "items.0.unit_price"),
    # sku: 1..64 of letters, digits, - _ .
    "sku empty": (with_item(sku=""), "items.0.sku"),
    "sku of 65 chars": (with_item(sku="s" * 65), "items.0.sku"),
    "sku with a space": (with_item(sku="A 1"), "items.0.sku"),
    "sku with a slash": (with_item(sku="A/1"), "items.0.sku"),
    "sku with a newline": (with_item(sku="A1\n"), "items.0.sku"),
    "sku non-ASCII": (with_item(sku="ÄPFEL"), "items.0.sku"),
    "sku as number": (with_item(sku=12), "items.0.sku"),
    # items: a list of 1..100 objects with distinct SKUs
    "no items": (place_body(items=[]), "items"),
    "101 items": (place_body(items=[item(f"S{n}") for n in range(101)]), "items"),
    "repeated SKU": (place_body(items=[item("A"), item("A", 2)]), "items"),
    "items not a list": (place_body(items={"sku": "A"}), "items"),
    "item not an object": (place_body(items=["A"]), "items.0"),
    "unknown field in an item": (with_item(total="1.00"), "items.0.total"),
    "items missing": ({"currency": "EUR"}, "items"),
    # currency: an ISO 4217 code
    "currency lower-case": (place_body(currency="eur"), "currency"),
    "currency unknown": (place_body(currency="XXX"), "currency"),
    "currency too long": (place_body(currency="EURO"), "currency"),
    "currency as number": (place_body(currency=978), "currency"),
    "currency missing": ({"items": [item()]}, "currency"),
    # shipping_address: at most 10 string fields of at most 200 characters
    "address field over 200 chars": (place_body(shipping_address={"street": LONG}), None),
    "address with 11 fields": (
        place_body(shipping_address={f"f{n}": "x" for n in range(11)}),
        "shipping_address",
    ),
    "address field not a string": (place_body(shipping_address={"zip": 75001}), None),
    "address nested object": (place_body(shipping_address={"a": {"b": "c"}}), None),
    "address as a string": (place_body(shipping_address="1 rue X"), "shipping_address"),
    "address field name too long": (place_body(shipping_address={"k" * 65: "v"}), None),
    # customer_id and fields the client may not send
    "customer_id empty": (place_body(customer_id=""), "customer_id"),
    "customer_id as number": (place_body(customer_id=7), "customer_id"),
    "unknown field total": (place_body(total="0.01"), "total"),
    "unknown field order_id": (place_body(order_id="x"), "order_id"),
}


@pytest.mark.parametrize(
    ("body", "field"), INVALID_PLACE_ORDERS.values(), ids=INVALID_PLACE_ORDERS.keys()
)
def test_invalid_place_order_is_a_400_naming_the_field(alice_client, body, field):
    with appends_nothing():
        response = post(alice_client, "/api/orders/", body)
    fields = [field] if field else []
    errors = assert_validation_problem(response, *fields)["errors"]
    if field is None:
        assert any(name.startswith("shipping_address") for name in errors), errors


INVALID_ORDER_COMMANDS = {
    "add-item quantity as string": ("add-item", {**item(), "quantity": "1"}, "quantity"),
    "add-item unit_price as number": ("add-item", {**item(), "unit_price": 1}, "unit_price"),
    "add-item bad sku": ("add-item", item("no spaces"), "sku"),
    "add-item missing price": ("add-item", {"sku": "C", "quantity": 1}, "unit_price"),
    "add-item unknown field": ("add-item", {**item(), "line_total": "9"}, "line_total"),
    "change-quantity zero": ("change-quantity", {"sku": "A-1", "quantity": 0}, "quantity"),
    "change-quantity as bool": ("change-quantity", {"sku": "A-1", "quantity": False}, "quantity"),
    "change-quantity float": ("change-quantity", {"sku": "A-1", "quantity": 3.0}, "quantity"),
    "change-quantity no sku": ("change-quantity", {"quantity": 3}, "sku"),
    "remove-item empty body": ("remove-item", {}, "sku"),
    "remove-item sku as list": ("remove-item", {"sku": ["A-1"]}, "sku"),
    "ship tracking number too long": ("ship", {"tracking_number": "t" * 101}, "tracking_number"),
    "ship tracking number as number": ("ship", {"tracking_number": 12345}, "tracking_number"),
    "ship tracking number as float": ("ship", {"tracking_number": 1.5}, "tracking_number"),
    "ship tracking number with newline": ("ship", {"tracking_number": "a\nb"}, "tracking_number"),
    "ship unknown field": ("ship", {"carrier": "UPS"}, "carrier"),
    "cancel reason too long": ("cancel", {"reason": "r" * 501}, "reason"),
    "cancel reason as number": ("cancel", {"reason": 42}, "reason"),
    "cancel reason as object": ("cancel", {"reason": {"why": "x"}}, "reason"),
    "cancel reason with a newline": ("cancel", {"reason": "a\nb"}, "reason"),
    "cancel unknown field": ("cancel", {"refund": True}, "refund"),
}


@pytest.mark.parametrize(
    ("action", "body", "field"), INVALID_ORDER_COMMANDS.values(), ids=INVALID_ORDER_COMMANDS.keys()
)
def test_invalid_order_command_is_a_400_naming_the_field(
    staff_client, alice_order, action, body, field
):
    with appends_nothing():
        response = post(staff_client, order_path(alice_order, action), body)
    assert_validation_problem(response, field)


MALFORMED_BODIES = {
    "truncated JSON": b'{"currency": "EUR", ',
    "single quotes": b"{'currency': 'EUR'}",
    "trailing comma": b'{"currency": "EUR",}',
    "empty object then garbage": b"{} x",
    "NaN": b'{"currency": "EUR", "items": [{"sku": "A", "quantity": NaN, "unit_price": "1"}]}',
    "Infinity": b'{"currency": "EUR", "items": [{"sku": "A", "quantity": 1, "unit_price": '
    b"Infinity}]}",
    "-Infinity": b'{"currency": -Infinity}',
    "number of 10**5000 digits": b'{"currency": "EUR", "items": [{"sku": "A", "quantity": 1'
    + b"0" * 5000
    + b', "unit_price": "1"}]}',
    "100000 nested lists": b"[" * 100_000 + b"]" * 100_000,
    "100000 nested objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "invalid UTF-8": b'{"currency": "\xff\xfe"}',
    "UTF-8 encoded surrogate": b'{"currency": "\xed\xa0\x80"}',
    "NUL in an address (PostgreSQL cannot store it)": json.dumps(
        place_body(shipping_address={"street": "a\x00b"})
    ).encode(),
    "unpaired surrogate in an address": json.dumps(
        place_body(shipping_address={"street": "\ud800"})
    ).encode(),
    "unpaired surrogate as an unknown field name": b'{"\\udfff": 1}',
    "unpaired surrogate in a list": b'{"items": [[["\\ud800"]]]}',
    "UTF-16 body": json.dumps(place_body()).encode("utf-16"),
}


@pytest.mark.parametrize("raw", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_malformed_json_is_a_400_problem(alice_client, raw):
    with appends_nothing():
        response = post(alice_client, "/api/orders/", raw=raw)
    assert_problem(response, 400, code="parse-error")


NOT_AN_OBJECT = {
    "list": b"[]",
    "list of a valid order": json.dumps([place_body()]).encode(),
    "string": b'"order"',
    "number": b"42",
    "true": b"true",
    "null": b"null",
}


@pytest.mark.parametrize("raw", NOT_AN_OBJECT.values(), ids=NOT_AN_OBJECT.keys())
@pytest.mark.parametrize("action", ["", "cancel", "ship"])
def test_a_body_that_is_not_an_object_is_a_400(staff_client, alice_order, raw, action):
    path = order_path(alice_order, action) if action else "/api/orders/"
    with appends_nothing():
        response = post(staff_client, path, raw=raw)
    assert_validation_problem(response)


HUGE_NUMBERS = {
    "unit_price 1e400": (b'"quantity": 1, "unit_price": 1e400', "items.0.unit_price"),
    "quantity 1e400": (b'"quantity": 1e400, "unit_price": "1"', "items.0.quantity"),
    "quantity -1e400": (b'"quantity": -1e400, "unit_price": "1"', "items.0.quantity"),
    "quantity 1e-400": (b'"quantity": 1e-400, "unit_price": "1"', "items.0.quantity"),
}


@pytest.mark.parametrize(("line", "field"), HUGE_NUMBERS.values(), ids=HUGE_NUMBERS.keys())
def test_a_number_beyond_float_range_is_a_400_not_infinity(alice_client, line, field):
    raw = b'{"currency": "EUR", "items": [{"sku": "A", ' + line + b"}]}"
    with appends_nothing():
        response = post(alice_client, "/api/orders/", raw=raw)
    assert_validation_problem(response, field)


@pytest.mark.parametrize("field", ["reason", "tracking_number"])
def test_a_number_beyond_float_range_is_not_stored_as_text(staff_client, alice_order, field):
    action = "cancel" if field == "reason" else "ship"
    with appends_nothing():
        response = post(
            staff_client, order_path(alice_order, action), raw=b'{"%s": 1e400}' % field.encode()
        )
    assert_validation_problem(response, field)


def test_many_unknown_fields_are_reported_briefly(alice_client):
    body = place_body(**{f"junk{n}": n for n in range(1000)})
    with appends_nothing():
        response = post(alice_client, "/api/orders/", body)
    errors = assert_validation_problem(response)["errors"]
    assert 0 < len(errors) <= 20


def test_an_over_long_unknown_field_name_is_not_echoed_in_full(alice_client):
    with appends_nothing():
        response = post(alice_client, "/api/orders/", place_body(**{"k" * 10_000: 1}))
    errors = assert_validation_problem(response)["errors"]
    assert all(len(name) <= 64 for name in errors)


def test_every_invalid_line_is_reported_by_index(alice_client):
    body = place_body(items=[item("A"), item("B", quantity=0), item("C", unit_price=3)])
    response = post(alice_client, "/api/orders/", body)
    errors = assert_validation_problem(response, "items.1.quantity", "items.2.unit_price")["errors"]
    assert not any(name.startswith("items.0") for name in errors)


@pytest.mark.parametrize(
    "header",
    [
        "3",
        "'3'",
        'W/"3"',
        '"\u0663"',
        '"three"',
        '"-1"',
        '"1.0"',
        '""',
        '"1", "2"',
        '"' + "9" * 30 + '"',
    ],
)
def test_a_malformed_if_match_is_a_400(alice_client, alice_order, header):
    with appends_nothing():
        response = post(alice_client, order_path(alice_order, "cancel"), HTTP_IF_MATCH=header)
    assert_validation_problem(response, "If-Match")


@pytest.mark.parametrize(
    "key", ["", "k" * 256, "has space", "tab\there", "clé", "line\nbreak", " ", "\x7f"]
)
def test_a_malformed_idempotency_key_is_a_400(alice_client, key):
    with appends_nothing():
        response = post(alice_client, "/api/orders/", place_body(), HTTP_IDEMPOTENCY_KEY=key)
    assert_validation_problem(response, "Idempotency-Key")


def test_the_longest_idempotency_key_is_accepted(alice_client):
    response = post(alice_client, "/api/orders/", place_body(), HTTP_IDEMPOTENCY_KEY="~" * 255)
    assert response.status_code == 201


def test_a_body_over_the_upload_limit_is_a_413(alice_client, alice_order, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    with appends_nothing():
        response = post(alice_client, order_path(alice_order, "cancel"), {"reason": "r" * 20_000})
    assert_problem(response, 413)


def test_without_an_upload_limit_bodies_are_still_parsed(alice_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = None
    assert post(alice_client, "/api/orders/", place_body()).status_code == 201


def test_a_body_over_the_default_limit_is_a_413(alice_client):
    items = [item(f"S{n}", unit_price="1" * 30_000) for n in range(100)]  # about 3 MB
    with appends_nothing():
        response = post(alice_client, "/api/orders/", place_body(items=items))
    assert_problem(response, 413)


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/x-www-form-urlencoded", "currency=EUR&items=x"),
        ("multipart/form-data; boundary=BoUnDaRy", "--BoUnDaRy\r\n\r\nx\r\n--BoUnDaRy--\r\n"),
        ("text/plain", json.dumps(place_body())),
        ("application/xml", "<order/>"),
    ],
)
def test_a_body_that_is_not_json_is_a_415(alice_client, content_type, data):
    with appends_nothing():
        response = alice_client.generic("POST", "/api/orders/", data, content_type=content_type)
    assert_problem(response, 415)


def test_a_json_body_without_content_type_is_a_415_not_silently_ignored(alice_client, alice_order):
    with appends_nothing():
        response = alice_client.generic(
            "POST", order_path(alice_order, "cancel"), json.dumps({"reason": 7}), content_type=""
        )
    assert_problem(response, 415)
