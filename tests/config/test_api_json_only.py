"""Under /api/ a program gets JSON or problem+json, never an HTML page, in DEBUG too."""

from unittest import mock

import pytest
from django.test import Client

from config.api import OrderViewSet
from tests.orders_read.conftest import catch_up
from tests.orders_write.conftest import appends_nothing, assert_problem, place, place_body, post

pytestmark = pytest.mark.django_db(databases=["default", "read"])

# What a program sends: nothing, anything, or JSON. A browser asks for HTML first.
PROGRAM_ACCEPTS = [None, "*/*", "application/json"]
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def accept(value: str | None) -> dict[str, str]:
    return {} if value is None else {"HTTP_ACCEPT": value}


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings) -> bool:
    """Run the test with DEBUG off and on: DEBUG swaps Django's error pages for its own."""
    settings.DEBUG = request.param
    return request.param


def unmatched(order_id: str) -> list[tuple[str, str]]:
    return [
        ("GET", "/api/nope/"),
        ("GET", "/api/orders/123/"),
        ("GET", f"/api/orders/{order_id}/frobnicate/"),
        ("POST", f"/api/orders/{order_id}/frobnicate/"),
        ("GET", "/api/customers/alice/nothing/"),
        ("POST", "/api/nope"),  # no slash, and nothing with one either
    ]


@pytest.mark.parametrize("accepts", PROGRAM_ACCEPTS)
def test_an_unmatched_api_url_is_a_404_problem(alice_client, debug, accepts):
    order_id = place(alice_client)
    for method, path in unmatched(order_id):
        with appends_nothing():
            response = alice_client.generic(
                method, path, "{}", "application/json", **accept(accepts)
            )
        problem = assert_problem(response, 404, code="not-found")
        assert problem["detail"] == "Not found.", (method, path)


def test_an_anonymous_client_gets_the_404_problem_too(anon_client, debug):
    assert_problem(anon_client.get("/api/nope/"), 404, code="not-found")


def test_a_browser_still_gets_an_html_page(alice, debug):
    browser = Client()
    browser.force_login(alice)
    response = browser.get("/api/nope/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("accepts", PROGRAM_ACCEPTS)
def test_an_unexpected_error_is_a_500_problem(alice_client, debug, accepts):
    alice_client.raise_request_exception = False  # answer as the server would, not raise
    with mock.patch.object(OrderViewSet, "list", side_effect=RuntimeError("a bug")):
        response = alice_client.get("/api/orders/", **accept(accepts))
    problem = assert_problem(response, 500, code="server-error")
    assert "a bug" not in response.content.decode()
    assert problem["detail"] == "An unexpected error occurred."


def test_a_request_for_an_unknown_host_is_a_400_problem(alice_client, debug):
    response = alice_client.get("/api/orders/", HTTP_HOST="attacker.example")
    assert_problem(response, 400, code="bad-request")


def paths_without_slash(order_id: str) -> list[str]:
    return [
        "/api",
        "/api/auth/token",
        "/api/orders",
        f"/api/orders/{order_id}",
        f"/api/orders/{order_id.upper()}/cancel",
        f"/api/orders/{order_id}/history",
        "/api/customers/alice",
        "/api/reports/product-sales",
        "/api/projections",
    ]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_a_missing_trailing_slash_is_a_redirect_keeping_the_method(alice_client, debug, method):
    order_id = place(alice_client)
    for path in paths_without_slash(order_id):
        with appends_nothing():
            response = alice_client.generic(method, path + "?x=1", "{}", "application/json")
        assert response.status_code == 308, (path, response.content[:200])
        assert response["Location"] == path + "/?x=1"


def test_the_token_endpoint_without_its_slash_redirects_to_it(anon_client, alice, debug):
    response = anon_client.post(
        "/api/auth/token", {"username": "alice", "password": "pw-secret-1"}, format="json"
    )
    assert response.status_code == 308
    followed = anon_client.post(
        response["Location"], {"username": "alice", "password": "pw-secret-1"}, format="json"
    )
    assert followed.status_code == 200 and followed.json()["token"]


def test_an_order_id_in_upper_case_names_the_same_order(alice_client, debug):
    order_id = place(alice_client)
    upper = order_id.upper()
    assert upper != order_id
    changed = post(alice_client, f"/api/orders/{upper}/cancel/", {"reason": "shouting"})
    assert changed.status_code == 200, changed.content
    assert changed.json() == {**changed.json(), "order_id": order_id, "version": 2}
    catch_up()
    for path in [f"/api/orders/{upper}/", f"/api/orders/{order_id.title()}/"]:
        detail = alice_client.get(path)
        assert detail.status_code == 200, path
        assert (detail.json()["order_id"], detail.json()["status"]) == (order_id, "cancelled")
    history = alice_client.get(f"/api/orders/{upper}/history/").json()
    assert [event["version"] for event in history] == [1, 2]


def test_the_api_root_lists_every_resource(anon_client, alice_client, staff_client):
    place(alice_client)
    catch_up()
    response = anon_client.get("/api/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    root = response.json()
    base = "http://testserver/api/"
    assert root == {
        "orders": base + "orders/",
        "customers": base + "customers/{customer_id}/",
        "commands": base + "commands/{command_id}/",
        # A resource's first route: the reports' actions come in name order.
        "reports": base + "reports/daily-sales/",
        "projections": base + "projections/",
    }
    accepted = alice_client.post(
        "/api/orders/", place_body(), format="json", HTTP_PREFER="respond-async"
    )
    command_id = accepted.json()["command_id"]
    for name, url in root.items():
        url = url.replace("{customer_id}", "alice").replace("{command_id}", command_id)
        assert staff_client.get(url).status_code == 200, name


def test_the_api_root_is_browsable(alice):
    browser = Client()
    browser.force_login(alice)
    response = browser.get("/api/", HTTP_ACCEPT=BROWSER_ACCEPT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "/api/orders/" in response.content.decode()


def test_options_describes_a_path_as_json(alice_client):
    response = alice_client.options("/api/orders/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "items" in response.json()["actions"]["POST"]
