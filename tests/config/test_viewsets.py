"""One ViewSet per resource: GET dispatches queries, POST commands, through injected buses."""

import ast
from pathlib import Path

import pytest

from config.api import OrderViewSet, ProjectionViewSet
from orders_read.queries import GetProjectionStatus, QueryResult
from orders_write.commands import CommandResult, PlaceOrder
from tests.orders_write.conftest import place, place_body, post

pytestmark = pytest.mark.django_db(databases=["default", "read"])

ROOT = Path(__file__).resolve().parents[2]
GET = {"GET", "HEAD", "OPTIONS"}
POST = {"POST", "OPTIONS"}
COMMANDS = ["add-item", "change-quantity", "remove-item", "ship", "cancel"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def allowed(response) -> set[str]:
    return {method.strip() for method in response["Allow"].split(",")}


def test_each_url_has_one_allow_header_naming_its_get_and_its_post(staff_client):
    order_id = place(staff_client, customer_id="stella")
    expected = {
        "/api/orders/": GET | POST,
        f"/api/orders/{order_id}/": GET,
        f"/api/orders/{order_id}/history/": GET,
        **{f"/api/orders/{order_id}/{command}/": POST for command in COMMANDS},
        "/api/customers/stella/": GET,
        "/api/customers/stella/orders/": GET,
        "/api/reports/product-sales/": GET,
        "/api/reports/daily-sales/": GET,
        "/api/projections/": GET,
    }
    for path, methods in expected.items():
        response = staff_client.options(path)
        assert response.status_code == 200, path
        assert allowed(response) == methods, path


class FakeCommandBus:
    def __init__(self):
        self.dispatched = []

    def dispatch(self, command, context):
        self.dispatched.append((command, context))
        return CommandResult(command.order_id, 1, 41)


def test_commands_go_through_the_bus_the_viewset_is_given(alice_client, monkeypatch):
    bus = FakeCommandBus()
    monkeypatch.setattr(OrderViewSet, "command_bus", staticmethod(lambda: bus))
    response = post(alice_client, "/api/orders/", place_body())
    assert response.status_code == 201
    [(command, context)] = bus.dispatched
    assert isinstance(command, PlaceOrder) and command.customer_id == "alice"
    assert context.actor.username == "alice"
    assert response.json() == {"order_id": str(command.order_id), "version": 1, "position": 41}


class FakeQueryBus:
    def __init__(self):
        self.asked = []

    def dispatch(self, query):
        self.asked.append(query)
        return QueryResult([], 17)


def test_queries_go_through_the_bus_the_viewset_is_given(staff_client, monkeypatch):
    bus = FakeQueryBus()
    monkeypatch.setattr(ProjectionViewSet, "query_bus", staticmethod(lambda: bus))
    response = staff_client.get("/api/projections/?min_position=3")
    assert (response.status_code, response.json()) == (200, [])
    assert response["X-Read-Position"] == "17"
    [query] = bus.asked
    assert isinstance(query, GetProjectionStatus) and query.min_position == 3


def imported_modules(package: str) -> set[str]:
    """Return every module the package's files import (absolute names)."""
    names = set()
    for path in (ROOT / package.replace(".", "/")).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


@pytest.mark.parametrize(
    ("package", "other_app"),
    [("orders_write.api", "orders_read"), ("orders_read.api", "orders_write")],
)
def test_an_apps_api_half_imports_no_bus_and_nothing_of_the_other_app(package, other_app):
    imported = imported_modules(package)
    assert imported, package
    refused = {
        name
        for name in imported
        if name.startswith((other_app, "config.bootstrap", "config.api"))
        or name.endswith(("bootstrap.command_bus", "bus.query_bus"))
    }
    assert refused == set()
