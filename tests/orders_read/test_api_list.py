"""GET /api/orders/: filters, newest first, cursor pagination, and 400 on bad parameters."""

from datetime import timedelta
from urllib.parse import quote

import pytest

from orders_read.models import OrderView
from orders_write import commands

from .conftest import BOTH_DATABASES, catch_up, line, place, run

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


@pytest.fixture
def many(alice, bob):
    """25 orders, alternating alice and bob, oldest first; every 4th cancelled."""
    ids = []
    for n in range(25):
        customer = "alice" if n % 2 == 0 else "bob"
        ids.append(place(customer, line("A-1")))
        if n % 4 == 0:
            run(commands.CancelOrder(ids[-1]), customer)
    catch_up()
    return ids


def ids_of(body) -> list[str]:
    return [row["order_id"] for row in body["results"]]


def walk(client, url: str) -> list[str]:
    """Follow `next` links from url; return every order id seen."""
    seen = []
    while url:
        body = client.get(url).json()
        seen += ids_of(body)
        url = body["next"]
    return seen


def test_newest_first_with_next_and_previous_links(staff_client, many):
    first = staff_client.get("/api/orders/?page_size=10").json()
    assert set(first) == {"next", "previous", "results"}
    assert ids_of(first) == [str(i) for i in reversed(many)][:10]
    assert first["previous"] is None and first["next"].startswith("http://testserver/api/orders/")
    second = staff_client.get(first["next"]).json()
    assert ids_of(second) == [str(i) for i in reversed(many)][10:20]
    back = staff_client.get(second["previous"]).json()
    assert ids_of(back) == ids_of(first)
    assert back["previous"] is None
    assert walk(staff_client, "/api/orders/?page_size=10") == [str(i) for i in reversed(many)]


def test_pages_stay_stable_when_orders_arrive_meanwhile(staff_client, many):
    first = staff_client.get("/api/orders/?page_size=10").json()
    place("alice", line("NEW"))
    catch_up()
    second = staff_client.get(first["next"]).json()
    assert ids_of(second) == [str(i) for i in reversed(many)][10:20]


def test_default_and_maximum_page_size(staff_client, many):
    assert len(staff_client.get("/api/orders/").json()["results"]) == 20
    response = staff_client.get("/api/orders/?page_size=101")
    assert response.status_code == 400
    assert "page_size" in response.json()["errors"]


def test_filter_by_status_and_customer(staff_client, many):
    cancelled = walk(staff_client, "/api/orders/?status=cancelled&page_size=3")
    assert cancelled == [str(many[n]) for n in reversed(range(0, 25, 4))]
    alices_placed = walk(staff_client, "/api/orders/?status=placed&customer_id=alice")
    expected = [str(many[n]) for n in reversed(range(25)) if n % 2 == 0 and n % 4]
    assert alices_placed == expected


def test_filter_by_placement_time(staff_client, many):
    views = {str(v.order_id): v.placed_at for v in OrderView.objects.using("read").all()}
    middle = views[str(many[12])]
    after = walk(staff_client, f"/api/orders/?placed_after={quote(middle.isoformat())}")
    assert after == [str(i) for i in reversed(many[12:])]
    before = walk(staff_client, f"/api/orders/?placed_before={quote(middle.isoformat())}")
    assert before == [str(i) for i in reversed(many[:13])]
    later = quote((middle + timedelta(days=1)).isoformat())
    assert staff_client.get(f"/api/orders/?placed_after={later}").json()["results"] == []


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=lost", "status"),
        ("placed_after=yesterday", "placed_after"),
        ("placed_before=2026-13-45T00:00:00Z", "placed_before"),
        ("page_size=0", "page_size"),
        ("page_size=ten", "page_size"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=eyJrIjogLTF9", "cursor"),
        ("min_position=-1", "min_position"),
        ("min_position=abc", "min_position"),
    ],
)
def test_invalid_parameters_are_400_problems(staff_client, many, query, field):
    response = staff_client.get(f"/api/orders/?{query}")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]


def test_customer_orders_endpoint_paginates_too(alice_client, many):
    seen = walk(alice_client, "/api/customers/alice/orders/?page_size=4")
    assert seen == [str(many[n]) for n in reversed(range(0, 25, 2))]
