"""The browsable API: every endpoint renders for staff, and its forms post with CSRF."""

import json
import re

import pytest
from django.test import Client

from orders_read import runner

pytestmark = pytest.mark.django_db(databases=["default", "read"])

HTML = {"Accept": "text/html"}
COMMANDS = ["add-item", "change-quantity", "remove-item", "ship", "cancel"]


@pytest.fixture
def browser(staff) -> Client:
    """A browser session of a staff user, checked for CSRF like a real one."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    return client


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
    assert "&quot;items&quot;: []" in form.group(0)  # PlaceOrder's fields, as JSON to fill in


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
