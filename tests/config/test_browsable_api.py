"""The browsable API: every endpoint renders for staff, and its forms post with CSRF."""

import json
import re
from html import unescape

import pytest
from django.test import Client

from eventlog.models import Event
from orders_read import runner

pytestmark = pytest.mark.django_db(databases=["default", "read"])

HTML = {"Accept": "text/html"}
COMMANDS = ["add-item", "change-quantity", "remove-item", "ship", "cancel"]


def browser_of(user) -> Client:
    """A browser session of the user, checked for CSRF like a real one."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def browser(staff) -> Client:
    """A staff user's browser."""
    return browser_of(staff)


@pytest.fixture
def customer_browser(alice) -> Client:
    """A customer's (alice's) browser."""
    return browser_of(alice)


def csrf_token(page) -> str:
    """Read the token the browsable API's script sends as X-CSRFToken."""
    script = re.search(
        r'<script type="application/json" id="drf_csrf">(.*?)</script>', page.content.decode(), re.S
    )
    return json.loads(script.group(1))["csrfToken"]


def post_raw_json(browser: Client, path: str, body: dict, token: str | None):
    """Send what the raw data form's script sends: the textarea's JSON, with the CSRF header."""
    headers = {"X-CSRFToken": token} if token else {}
    return browser.post(path, json.dumps(body), content_type="application/json", headers=headers)


def form_body(page, path: str) -> dict:
    """Read the JSON the raw data form for POST to `path` starts with."""
    form = re.search(rf'<form action="{path}" method="POST".*?</form>', page.content.decode(), re.S)
    assert form, f"no POST form for {path}"
    content = re.search(r'<textarea name="_content"[^>]*>(.*?)</textarea>', form.group(0), re.S)
    return json.loads(unescape(content.group(1)))


def submit_form_as_is(browser: Client, path: str):
    """Open the path's page, which holds its POST form, then POST the form's JSON unchanged."""
    page = browser.get(path, headers=HTML)
    body = form_body(page, path)
    return body, post_raw_json(browser, path, body, csrf_token(page))


@pytest.fixture
def order_id(browser, alice) -> str:
    page = browser.get("/api/orders/", headers=HTML)
    body = {
        "customer_id": "alice",
        "currency": "EUR",
        "items": [{"sku": "A-1", "quantity": 2, "unit_price": "3.00"}],
    }
    response = post_raw_json(browser, "/api/orders/", body, csrf_token(page))
    assert response.status_code == 201, response.content
    for name in runner.projection_names():
        runner.projection_catch_up(name, force=True)
    return response.json()["order_id"]


def query_paths(order_id: str) -> list[str]:
    return [
        "/api/orders/",
        f"/api/orders/{order_id}/",
        f"/api/orders/{order_id}/history/",
        "/api/customers/alice/",
        "/api/customers/alice/orders/",
        "/api/reports/product-sales/",
        "/api/projections/",
    ]


def test_every_query_renders_as_a_page(browser, order_id):
    for path in query_paths(order_id):
        response = browser.get(path, headers=HTML)
        assert response.status_code == 200, path
        assert response["Content-Type"].startswith("text/html"), path
        assert 'class="response-info"' in response.content.decode(), path


def test_the_order_list_page_offers_the_place_order_form(browser):
    # GET is the read side's list, POST the write side's PlaceOrder: both on one page.
    page = browser.get("/api/orders/", headers=HTML).content.decode()
    form = re.search(r'<form action="/api/orders/" method="POST".*?</form>', page, re.S)
    assert form and 'data-override="content"' in form.group(0)
    assert "&quot;items&quot;: [" in form.group(0)  # PlaceOrder's fields, as JSON to fill in


def test_a_customers_place_order_form_is_a_valid_body_without_customer_id(customer_browser):
    body, response = submit_form_as_is(customer_browser, "/api/orders/")
    assert "customer_id" not in body  # staff only: a customer orders for themself
    assert set(body) == {"currency", "items", "shipping_address"}
    assert response.status_code == 201, response.content
    assert Event.objects.get(stream_id=response.json()["order_id"]).data["customer_id"] == "alice"


def test_the_staff_place_order_form_shows_customer_id_with_an_account_that_exists(browser):
    body, response = submit_form_as_is(browser, "/api/orders/")
    assert body["customer_id"] == "stella"  # their own username: a placeholder that exists
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("last", ["ship", "cancel"])
def test_each_command_form_is_a_valid_body_in_turn(browser, last):
    # Each example follows from the one before: placed with A-1, B-2 added, A-1 changed,
    # B-2 removed, then shipped or cancelled.
    _, placed = submit_form_as_is(browser, "/api/orders/")
    order = f"/api/orders/{placed.json()['order_id']}/"
    for version, command in enumerate(["add-item", "change-quantity", "remove-item", last], 2):
        _, response = submit_form_as_is(browser, f"{order}{command}/")
        assert response.status_code == 200, (command, response.content)
        assert response.json()["version"] == version


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_page_shows_its_post_forms(browser, order_id, command):
    path = f"/api/orders/{order_id}/{command}/"
    response = browser.get(path, headers=HTML)
    # A command has no GET: DRF's 405 page, which carries the forms for POST.
    assert response.status_code == 405
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    # The raw data form: JSON to edit, sent with the CSRF header by DRF's script.
    assert f'<form action="{path}" method="POST"' in page
    assert 'data-override="content"' in page and "application/json" in page
    assert "Allow" in response and "POST" in response["Allow"]


def test_a_post_from_the_raw_data_form_needs_the_csrf_token(browser, order_id):
    path = f"/api/orders/{order_id}/ship/"
    page = browser.get(path, headers=HTML)

    refused = post_raw_json(browser, path, {"tracking_number": "TR-1"}, token=None)
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert "CSRF" in refused.json()["detail"]

    shipped = post_raw_json(browser, path, {"tracking_number": "TR-1"}, csrf_token(page))
    assert shipped.status_code == 200, shipped.content
    assert shipped.json()["version"] == 2
