"""The overview: orders placed and net revenue booked per day, open orders, health.

The figures come from the daily sales read model; its days are UTC dates.
"""

import re
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from orders_read import runner
from orders_read.models import DailySales
from orders_write import commands

from .admin_helpers import OVERVIEW, logged_in
from .chart_helpers import chart_in
from .conftest import BOTH_DATABASES, catch_up, line, place, run

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


def test_the_overview_draws_orders_placed_and_net_revenue_per_day(client, staff, days_ago):
    today = timezone.now().astimezone(UTC).date()
    with days_ago(45):
        place("carol", line("OLD", 1, "1.00"))  # outside the 30 days
    with days_ago(3):
        place("alice", line("B-1", 1, "100.00"))
        cancelled = place("bob", line("B-1", 1, "1000.00"))
    shipped = place("alice", line("A-1", 2, "10.00"))
    place("bob", line("A-1", 1, "5.50"))
    place("carol", line("U-1", 1, "7.00"), currency="USD")
    run(commands.CancelOrder(cancelled), "bob")  # today: booked today, not 3 days ago
    run(commands.ShipOrder(shipped), "stella", staff=True)
    catch_up()

    html = logged_in(client, staff).get(OVERVIEW).content.decode()

    three_days_ago = (today - timedelta(days=3)).isoformat()
    orders = chart_in(html, "orders-chart")
    assert [(bar.day, bar.title) for bar in orders.bars] == [
        (three_days_ago, f"{three_days_ago}: 2 orders"),
        (today.isoformat(), f"{today.isoformat()}: 3 orders"),
    ]
    assert orders.ticks == ["0", "1", "2", "3"]  # whole orders only
    revenue = chart_in(html, "revenue-chart")
    # EUR leads; the cancellation takes 1000.00 back out today, below the zero line.
    assert [(bar.day, bar.title, bar.negative) for bar in revenue.bars] == [
        (three_days_ago, f"{three_days_ago}: 1100.00 EUR", False),
        (today.isoformat(), f"{today.isoformat()}: -974.50 EUR", True),
    ]
    assert 'href="?currency=USD"' in html
    assert re.search(r'id="open-orders">.*?class="value">4<', html, re.S)
    assert re.search(r'id="orders-window">.*?class="value">5<', html, re.S)
    assert re.search(r"Net revenue EUR, last 30 days</div><div class=\"value\">125.50<", html)
    assert "a cancellation is booked the day it happens" in html
    for name in runner.projection_names():
        assert f'class="projection-{name}"' in html
    assert "up_to_date" in html

    usd = logged_in(client, staff).get(OVERVIEW, {"currency": "USD"}).content.decode()
    assert [bar.title for bar in chart_in(usd, "revenue-chart").bars] == [
        f"{today.isoformat()}: 7.00 USD"
    ]


def test_the_overview_reads_the_daily_sales_read_model(client, staff):
    # A row of the read model alone, with no order behind it, is what the chart shows.
    today = timezone.now().astimezone(UTC).date()
    DailySales.objects.using("read").create(
        key=f"{today.isoformat()}:EUR", day=today, currency="EUR", orders_placed=7, revenue=42
    )
    html = logged_in(client, staff).get(OVERVIEW).content.decode()
    [bar] = chart_in(html, "orders-chart").bars
    assert bar.title == f"{today.isoformat()}: 7 orders"
    [bar] = chart_in(html, "revenue-chart").bars
    assert bar.title == f"{today.isoformat()}: 42.00 EUR"


def test_the_overview_of_an_empty_shop(client, staff):
    html = logged_in(client, staff).get(OVERVIEW).content.decode()
    assert chart_in(html, "orders-chart").bars == []
    assert "No revenue in the last 30 days." in html


def test_the_overview_is_for_staff_only(client, alice):
    client.force_login(alice)
    response = client.get(OVERVIEW)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
