"""Business-rule refusals (409), wrong methods (405) and the problem format of every error."""

from unittest import mock

import pytest
from django.db import OperationalError
from rest_framework.throttling import UserRateThrottle

from eventlog.store import ConcurrencyError
from orders_write.commands import AddItem
from orders_write.handlers import COMMAND_HANDLERS
from tests.orders_write.conftest import (
    PROBLEM,
    appends_nothing,
    assert_problem,
    item,
    order_path,
    place,
    place_body,
    post,
    stream_versions,
)

pytestmark = pytest.mark.django_db(databases=["default", "read"])

EVERY_ORDER_COMMAND = {
    "add-item": item("C-3"),
    "change-quantity": {"sku": "A-1", "quantity": 7},
    "remove-item": {"sku": "B-2"},
    "ship": {},
    "cancel": {},
}


# --- 409: a business rule refuses the command --------------------------------------

REFUSALS = {
    "add a SKU already in the order": ("add-item", item("A-1"), "duplicate-sku", "A-1"),
    "change an unknown SKU": (
        "change-quantity",
        {"sku": "Z-9", "quantity": 1},
        "unknown-sku",
        "Z-9",
    ),
    "change to the same quantity": (
        "change-quantity",
        {"sku": "A-1", "quantity": 2},
        "quantity-unchanged",
        "A-1",
    ),
    "remove an unknown SKU": ("remove-item", {"sku": "Z-9"}, "unknown-sku", "Z-9"),
}


@pytest.mark.parametrize(
    ("action", "body", "code", "named"), REFUSALS.values(), ids=REFUSALS.keys()
)
def test_a_business_rule_refusal_is_a_409_that_says_which(
    alice_client, alice_order, action, body, code, named
):
    with appends_nothing():
        response = post(alice_client, order_path(alice_order, action), body)
    problem = assert_problem(response, 409, code=code)
    assert named in problem["detail"]


def test_removing_the_last_item_is_refused_cancel_instead(alice_client):
    order_id = place(alice_client, items=[item("ONLY")])
    with appends_nothing():
        response = post(alice_client, order_path(order_id, "remove-item"), {"sku": "ONLY"})
    problem = assert_problem(response, 409, code="last-item")
    assert "cancel" in problem["detail"]


def test_an_order_holds_at_most_100_items(alice_client):
    order_id = place(alice_client, items=[item(f"S{n}") for n in range(100)])
    with appends_nothing():
        response = post(alice_client, order_path(order_id, "add-item"), item("ONE-MORE"))
    assert_problem(response, 409, code="too-many-items")


@pytest.mark.parametrize("final", ["ship", "cancel"])
@pytest.mark.parametrize(("action", "body"), EVERY_ORDER_COMMAND.items())
def test_nothing_changes_after_shipped_or_cancelled(staff_client, alice_order, final, action, body):
    assert post(staff_client, order_path(alice_order, final)).status_code == 200
    with appends_nothing():
        response = post(staff_client, order_path(alice_order, action), body)
    problem = assert_problem(response, 409, code="order-not-placed")
    assert ("shipped" if final == "ship" else "cancelled") in problem["detail"]
    assert stream_versions(alice_order) == [1, 2]


# --- 405: commands are POST only ----------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("action", ["", *EVERY_ORDER_COMMAND])
def test_other_methods_are_405_with_allow(staff_client, alice_order, method, action):
    path = order_path(alice_order, action) if action else "/api/orders/"
    with appends_nothing():
        response = staff_client.generic(method, path, "{}", content_type="application/json")
    assert_problem(response, 405, code="method-not-allowed")
    assert "POST" in response["Allow"]
    assert method not in response["Allow"]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_wrong_method_is_405_even_for_anonymous_clients(anon_client, method):
    response = anon_client.generic(method, "/api/orders/")
    assert_problem(response, 405)


def test_a_browser_opening_a_command_gets_the_browsable_form_with_a_405(alice_client, alice_order):
    response = alice_client.get(order_path(alice_order, "add-item"), HTTP_ACCEPT="text/html")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("text/html")
    assert b"unit_price" in response.content


def test_a_program_opening_a_command_gets_a_405_problem(alice_client, alice_order):
    response = alice_client.get(order_path(alice_order, "add-item"))
    assert_problem(response, 405)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("action", ["", "cancel"])
def test_a_command_without_its_trailing_slash_is_redirected_keeping_the_method(
    alice_client, alice_order, settings, debug, action
):
    settings.DEBUG = debug
    path = order_path(alice_order, action) if action else "/api/orders/"
    with appends_nothing():
        response = post(alice_client, path.rstrip("/") + "?x=1", {})
    assert response.status_code == 308
    assert response["Location"] == path + "?x=1"


# --- the problem format --------------------------------------------------------------


def test_a_validation_problem_lists_messages_per_field(alice_client):
    response = post(alice_client, "/api/orders/", place_body(currency="eur", items=[]))
    problem = assert_problem(response, 400, code="validation-error")
    assert problem["title"] == "Bad Request"
    assert set(problem["errors"]) == {"currency", "items"}
    assert all(isinstance(m, str) for ms in problem["errors"].values() for m in ms)


def test_a_refusal_problem_has_type_title_status_and_detail(alice_client, alice_order):
    response = post(alice_client, order_path(alice_order, "add-item"), item("A-1"))
    problem = assert_problem(response, 409)
    assert problem["type"] == "urn:ordinal:problem:duplicate-sku"
    assert problem["title"] == "Conflict"
    assert "errors" not in problem


def test_an_unknown_api_path_is_a_problem_404(alice_client):
    response = post(alice_client, "/api/nothing-here/", {})
    assert_problem(response, 404)


def test_problems_are_json_even_when_html_is_accepted_first(alice_client, alice_order):
    """A browser gets the browsable API; a program asking for JSON gets problem+json."""
    response = post(
        alice_client,
        order_path(alice_order, "add-item"),
        item("A-1"),
        HTTP_ACCEPT="application/json, text/html;q=0.9",
    )
    assert response["Content-Type"] == PROBLEM


def test_errors_echo_the_request_id(alice_client):
    response = post(alice_client, "/api/orders/", {}, HTTP_X_REQUEST_ID="trace-7")
    assert response.status_code == 400
    assert response["X-Request-ID"] == "trace-7"


# --- failures that are not the client's ------------------------------------------------


def always_losing_the_race(command, context):
    raise ConcurrencyError(command.order_id, 1, 2)


def database_down(command, context):
    raise OperationalError("connection refused")


def test_a_command_that_keeps_losing_the_race_is_a_409_after_bounded_retries(
    alice_client, alice_order, settings
):
    settings.ORDINAL_COMMAND_RETRIES = 3
    with mock.patch.dict(COMMAND_HANDLERS, {AddItem: always_losing_the_race}):
        response = post(alice_client, order_path(alice_order, "add-item"), item())
    assert_problem(response, 409, code="concurrent-modification")


def test_a_database_outage_is_a_503_problem_with_retry_after(alice_client, alice_order):
    with mock.patch.dict(COMMAND_HANDLERS, {AddItem: database_down}):
        response = post(alice_client, order_path(alice_order, "add-item"), item())
    assert_problem(response, 503, code="service-unavailable")
    assert response["Retry-After"] == "5"


# --- 429: throttled --------------------------------------------------------------------


def test_a_throttled_command_is_a_429_problem_with_retry_after(alice_client, alice_order):
    with mock.patch.object(UserRateThrottle, "rate", "2/minute", create=True):
        for _ in range(2):
            post(alice_client, order_path(alice_order, "add-item"), item("A-1"))
        with appends_nothing():
            response = post(alice_client, order_path(alice_order, "add-item"), item("C-3"))
    assert_problem(response, 429, code="throttled")
    assert int(response["Retry-After"]) > 0
