"""Who may send which command: authentication schemes, owners, staff, and strangers."""

import base64
import uuid

import pytest
from rest_framework.test import APIClient

from tests.orders_write.conftest import (
    appends_nothing,
    assert_problem,
    item,
    order_path,
    place_body,
    post,
)

pytestmark = pytest.mark.django_db(databases=["default", "read"])

ORDER_ACTIONS = {
    "add-item": item("C-3"),
    "change-quantity": {"sku": "A-1", "quantity": 7},
    "remove-item": {"sku": "B-2"},
    "ship": {},
    "cancel": {},
}
CUSTOMER_ACTIONS = {action: body for action, body in ORDER_ACTIONS.items() if action != "ship"}


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


# --- authentication --------------------------------------------------------------


@pytest.mark.parametrize("action", ["", *ORDER_ACTIONS])
def test_anonymous_commands_are_401_with_the_token_challenge(anon_client, action):
    path = order_path(uuid.uuid4(), action) if action else "/api/orders/"
    with appends_nothing():
        response = post(anon_client, path, ORDER_ACTIONS.get(action, place_body()))
    assert_problem(response, 401, code="not-authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_session_login_authenticates_commands(alice):
    client = APIClient()
    assert client.login(username="alice", password="pw-secret-1")
    response = post(client, "/api/orders/", place_body())
    assert response.status_code == 201


def test_session_commands_need_the_csrf_token(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="alice", password="pw-secret-1")
    with appends_nothing():
        response = post(client, "/api/orders/", place_body())
    assert_problem(response, 403)


def test_http_basic_authenticates_commands(alice):
    response = post(
        APIClient(), "/api/orders/", place_body(), HTTP_AUTHORIZATION=basic("alice", "pw-secret-1")
    )
    assert response.status_code == 201


def test_a_token_from_the_token_endpoint_authenticates_commands(alice):
    client = APIClient()
    obtained = post(client, "/api/auth/token/", {"username": "alice", "password": "pw-secret-1"})
    assert obtained.status_code == 200
    token = obtained.json()["token"]

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = post(client, "/api/orders/", place_body())
    assert response.status_code == 201


def test_the_token_endpoint_refuses_bad_credentials_with_a_problem(alice):
    response = post(APIClient(), "/api/auth/token/", {"username": "alice", "password": "wrong"})
    body = assert_problem(response, 400)
    assert body["errors"]


@pytest.mark.parametrize(
    "authorization",
    [
        basic("alice", "wrong"),
        basic("nobody", "pw-secret-1"),
        "Basic not-base64!",
        "Token 0000000000000000000000000000000000000000",
        "Token",
        "Token a b",
    ],
)
def test_bad_credentials_are_401(alice, authorization):
    with appends_nothing():
        response = post(APIClient(), "/api/orders/", place_body(), HTTP_AUTHORIZATION=authorization)
    assert_problem(response, 401)


@pytest.mark.parametrize(
    "authorization",
    [basic("al\x00ice", "pw-secret-1"), basic("alice", "pw\x00"), "Token abc\x00def"],
)
def test_a_nul_in_credentials_is_refused_not_a_server_error(alice, authorization):
    with appends_nothing():
        response = post(APIClient(), "/api/orders/", place_body(), HTTP_AUTHORIZATION=authorization)
    assert response.status_code in (400, 401)
    assert_problem(response, response.status_code)


def test_an_inactive_user_cannot_send_commands(make_user):
    user = make_user("dora")
    user.is_active = False
    user.save()
    with appends_nothing():
        response = post(
            APIClient(),
            "/api/orders/",
            place_body(),
            HTTP_AUTHORIZATION=basic("dora", "pw-secret-1"),
        )
    assert_problem(response, 401)


# --- permissions -----------------------------------------------------------------


def test_a_customer_may_not_place_an_order_for_another_customer(alice_client):
    with appends_nothing():
        response = post(alice_client, "/api/orders/", place_body(customer_id="bob"))
    assert_problem(response, 403, code="permission-denied")


def test_a_customer_may_not_ship_even_their_own_order(alice_client, alice_order):
    with appends_nothing():
        response = post(alice_client, order_path(alice_order, "ship"))
    assert_problem(response, 403, code="permission-denied")


@pytest.mark.parametrize(("action", "body"), CUSTOMER_ACTIONS.items())
def test_another_customers_order_is_404_as_if_it_did_not_exist(
    bob_client, alice_order, action, body
):
    with appends_nothing():
        response = post(bob_client, order_path(alice_order, action), body)
    assert_problem(response, 404, code="not-found")


@pytest.mark.parametrize(("action", "body"), ORDER_ACTIONS.items())
def test_an_unknown_order_is_404(staff_client, alice_order, action, body):
    with appends_nothing():
        response = post(staff_client, order_path(uuid.uuid4(), action), body)
    assert_problem(response, 404, code="not-found")


@pytest.mark.parametrize("order_id", ["42", "not-a-uuid", "0" * 33, "%00", "..%2f..%2fadmin"])
def test_an_order_id_that_is_not_a_uuid_is_404(staff_client, order_id):
    with appends_nothing():
        response = post(staff_client, f"/api/orders/{order_id}/cancel/", {})
    assert_problem(response, 404)


@pytest.mark.parametrize(("action", "body"), ORDER_ACTIONS.items())
def test_staff_may_run_every_command_on_any_order(staff_client, alice_order, action, body):
    response = post(staff_client, order_path(alice_order, action), body)
    assert response.status_code == 200


@pytest.mark.parametrize(("action", "body"), ORDER_ACTIONS.items())
def test_the_owner_may_run_every_command_but_ship(alice_client, alice_order, action, body):
    response = post(alice_client, order_path(alice_order, action), body)
    assert response.status_code == (403 if action == "ship" else 200)
