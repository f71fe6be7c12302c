"""GET /api/reports/daily-sales/: orders and net revenue booked per day and currency."""

from datetime import UTC
from decimal import Decimal

import pytest

from eventlog import store
from orders_read import runner
from orders_write import commands

from .conftest import BOTH_DATABASES, catch_up, line, place, run

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)

URL = "/api/reports/daily-sales/"


@pytest.fixture
def days(days_ago, alice, bob):
    """Three days of orders, oldest first; return the days (UTC) as ISO dates."""
    with days_ago(3) as first:
        kept = place("alice", line("A-1", 2, "10.00"))
        place("bob", line("U-1", 1, "5.00"), currency="USD")
    with days_ago(1) as second:
        run(commands.AddItem(kept, "B-2", 1, Decimal("2.50")), "alice")
        place("bob", line("A-1", 1, "7.00"))
    with days_ago(0) as third:
        run(commands.CancelOrder(kept, "no longer needed"), "alice")
    catch_up()
    return [moment.astimezone(UTC).date().isoformat() for moment in (first, second, third)]


def rows(response) -> list[tuple]:
    assert response.status_code == 200, response.content
    return [
        (r["day"], r["currency"], r["orders_placed"], r["orders_cancelled"], r["revenue"])
        for r in response.json()
    ]


def test_each_day_books_what_happened_on_it_by_day_then_currency(staff_client, days):
    first, second, third = days
    response = staff_client.get(URL)
    assert rows(response) == [
        (first, "EUR", 1, 0, "20.00"),
        (first, "USD", 1, 0, "5.00"),
        (second, "EUR", 1, 0, "9.50"),  # bob's 7.00 and alice's added 2.50
        (third, "EUR", 0, 1, "-22.50"),  # alice's order leaves on the day it is cancelled
    ]
    assert response["X-Read-Position"] == str(store.head_position())


def test_currency_since_and_until_narrow_the_report(staff_client, days):
    first, second, third = days
    assert [r[:2] for r in rows(staff_client.get(URL, {"currency": "USD"}))] == [(first, "USD")]
    assert [r[:2] for r in rows(staff_client.get(URL, {"since": second}))] == [
        (second, "EUR"),
        (third, "EUR"),
    ]
    assert [r[:2] for r in rows(staff_client.get(URL, {"until": first}))] == [
        (first, "EUR"),
        (first, "USD"),
    ]
    one_day = {"since": second, "until": second, "currency": "EUR"}
    assert rows(staff_client.get(URL, one_day)) == [(second, "EUR", 1, 0, "9.50")]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"currency": "eur"}, "currency"),
        ({"since": "2026-02-30"}, "since"),
        ({"until": "yesterday"}, "until"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "until"),
        ({"day": "2026-03-01"}, "day"),  # not a parameter of this report
    ],
)
def test_bad_parameters_are_a_400_naming_them(staff_client, query, field):
    response = staff_client.get(URL, query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert set(response.json()["errors"]) == {field}


def test_customers_may_not_see_it(alice_client):
    response = alice_client.get(URL)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_min_position_waits_for_the_daily_sales_projection(staff_client, alice, short_wait):
    place("alice", line("A-1", 1, "3.00"))
    head = store.head_position()
    # Every other projection is at the head: only daily_sales keeps the answer waiting.
    for name in runner.projection_names():
        if name != "daily_sales":
            runner.projection_catch_up(name)
    behind = staff_client.get(URL, {"min_position": head})
    assert behind.status_code == 503 and behind["Retry-After"]
    runner.projection_catch_up("daily_sales")
    answered = staff_client.get(URL, {"min_position": head})
    assert [r[2:] for r in rows(answered)] == [(1, 0, "3.00")]
    assert answered["X-Read-Position"] == str(head)
