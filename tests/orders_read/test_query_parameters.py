"""Query strings: a parameter an endpoint does not know is a 400 naming it (DESIGN §9)."""

import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import Client

from tests.orders_write.conftest import assert_validation_problem

from .conftest import BOTH_DATABASES, catch_up, line, place

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)

UNKNOWN = {"colour": ["Unknown query parameter."]}


@pytest.fixture
def order_id(alice):
    order_id = place("alice", line("A-1"))
    catch_up()
    return order_id


def get_endpoints(order_id) -> dict[str, list[str]]:
    """Every GET endpoint under /api/, with the parameters it takes besides min_position."""
    filters = ["status", "placed_after", "placed_before", "cursor", "page_size"]
    return {
        "/api/": [],
        "/api/orders/": ["customer_id", *filters],
        f"/api/orders/{order_id}/": [],
        f"/api/orders/{order_id}/history/": [],
        "/api/customers/alice/": [],
        "/api/customers/alice/orders/": filters,
        "/api/reports/product-sales/": [],
        "/api/reports/daily-sales/": ["currency", "since", "until"],
        "/api/projections/": [],
    }


def test_an_unknown_query_parameter_is_a_400_naming_it_on_every_get_endpoint(
    staff_client, order_id
):
    for path in get_endpoints(order_id):
        response = staff_client.get(path, {"colour": "red"})
        body = assert_validation_problem(response, "colour")
        assert body["errors"] == UNKNOWN, path


def test_a_parameter_of_another_endpoint_is_unknown_here(staff_client, order_id):
    endpoints = get_endpoints(order_id)
    every = {name for names in endpoints.values() for name in names} | {"min_position"}
    for path, names in endpoints.items():
        known = set(names) | ({"min_position"} if path != "/api/" else set())
        for name in sorted(every - known):
            response = staff_client.get(path, {name: "1"})
            errors = assert_validation_problem(response, name)["errors"]
            assert errors == {name: ["Unknown query parameter."]}, (path, name)


def test_the_known_parameters_and_drfs_format_are_accepted(staff_client, order_id):
    for path in get_endpoints(order_id):
        assert staff_client.get(path, {"format": "json"}).status_code == 200, path
    listed = staff_client.get(
        "/api/orders/", {"page_size": 1, "status": "placed", "min_position": 0}
    )
    assert listed.status_code == 200 and len(listed.json()["results"]) == 1
    mine = staff_client.get("/api/customers/alice/orders/", {"page_size": 1, "format": "json"})
    assert mine.status_code == 200 and len(mine.json()["results"]) == 1


def test_a_next_link_is_followed_with_its_cursor(staff_client, order_id):
    place("alice", line("B-2"))
    catch_up()
    first = staff_client.get("/api/orders/", {"page_size": 1}).json()
    second = staff_client.get(first["next"])
    assert second.status_code == 200
    assert second.json()["results"][0]["order_id"] == str(order_id)


def test_many_unknown_parameters_are_reported_briefly(staff_client):
    query = {f"junk{n}": "x" for n in range(500)} | {"k" * 5000: "x"}
    errors = assert_validation_problem(staff_client.get("/api/orders/", query))["errors"]
    assert 0 < len(errors) <= 20
    assert all(len(name) <= 64 for name in errors)


def test_the_browsable_apis_own_links_are_accepted(staff, order_id):
    # The page's format menu (?format=api / ?format=json) and links: each must still answer.
    browser = Client()
    browser.force_login(staff)
    for path in get_endpoints(order_id):
        page = browser.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 200, path
        hrefs = {
            unescape(href) for href in re.findall(r'href="([^"]*\?[^"]*)"', page.content.decode())
        }
        own = [href for href in hrefs if urlsplit(href).path in ("", path)]
        assert any(dict(parse_qsl(urlsplit(href).query)).get("format") for href in own), path
        for href in own:
            assert browser.get(href).status_code == 200, (path, href)


def test_the_schema_says_unknown_parameters_are_refused(staff_client):
    schema = staff_client.get("/api/schema/", {"format": "json"}).json()
    for path, operations in schema["paths"].items():
        if "get" in operations:
            assert "not listed here is a 400" in operations["get"]["description"], path
