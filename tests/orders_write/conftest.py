"""Helpers and fixtures for the command API tests: JSON requests, orders, problem checks."""

import contextlib
import json
import uuid

import pytest

from eventlog.models import Event
from tests.threads import run_in_threads  # noqa: F401 (re-exported to the tests here)

PROBLEM = "application/problem+json"


def place_body(**overrides) -> dict:
    """Return a valid PlaceOrder body, with some fields replaced."""
    body = {
        "currency": "EUR",
        "items": [
            {"sku": "A-1", "quantity": 2, "unit_price": "10.00"},
            {"sku": "B-2", "quantity": 1, "unit_price": "5.50"},
        ],
    }
    body.update(overrides)
    return body


def item(sku: str = "C-3", quantity: int = 1, unit_price: str = "1.00") -> dict:
    return {"sku": sku, "quantity": quantity, "unit_price": unit_price}


def post(client, path: str, body=None, *, raw: bytes | None = None, **headers):
    """POST a JSON body (or raw bytes as JSON) to an API path; headers as HTTP_* kwargs."""
    data = raw if raw is not None else json.dumps(body if body is not None else {})
    return client.generic(
        "POST", path, data, content_type=headers.pop("content_type", "application/json"), **headers
    )


def order_path(order_id, action: str = "") -> str:
    return f"/api/orders/{order_id}/" + (f"{action}/" if action else "")


def place(client, **overrides) -> str:
    """Place an order through the API and return its id."""
    response = post(client, "/api/orders/", place_body(**overrides))
    assert response.status_code == 201, response.content
    return response.json()["order_id"]


def assert_problem(response, status: int, *, code: str | None = None) -> dict:
    """Check an RFC 9457 problem response and return its body."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    if code is not None:
        assert body["type"].endswith(":" + code), body["type"]
    return body


def assert_validation_problem(response, *fields: str) -> dict:
    """Check a 400 problem whose `errors` name each of the given fields."""
    body = assert_problem(response, 400)
    errors = body.get("errors")
    assert isinstance(errors, dict) and errors, body
    for name, messages in errors.items():
        assert isinstance(name, str)
        assert messages and all(isinstance(m, str) and m for m in messages), errors
    for name in fields:
        assert name in errors, errors
    return body


def stream_versions(order_id) -> list[int]:
    return list(
        Event.objects.filter(stream_id=uuid.UUID(str(order_id)))
        .order_by("version")
        .values_list("version", flat=True)
    )


@contextlib.contextmanager
def appends_nothing():
    """Assert that the block appends no event to the log."""
    before = Event.objects.count()
    yield
    assert Event.objects.count() == before, "an error response appended events"


@pytest.fixture
def alice_order(alice_client) -> str:
    """An order alice placed: A-1 x2 at 10.00, B-2 x1 at 5.50, version 1."""
    return place(alice_client)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users are made in nearly every test; the default hasher costs 0.3 s a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The command inbox's fixtures (`sent`, `post_async`), for every test here.
from .inbox_helpers import post_async, sent  # noqa: E402, F401
