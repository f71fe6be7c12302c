"""The overview: orders and revenue per day as server-drawn SVG, open orders, health."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from eventlog.recorders.postgresql import PostgreSQLRecorder
from orders_write import commands

from .admin_helpers import OVERVIEW, logged_in
from .conftest import BOTH_DATABASES, catch_up, line, place, run

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


@pytest.fixture
def on_day(monkeypatch):
    """Place orders as if `days_ago` days ago: the events are recorded with that time.

    The log never records an event before the last one, so call it oldest first. On
    PostgreSQL the log's clock is the database's: it is set back here too.
    """
    real_now, real_clock = timezone.now, PostgreSQLRecorder._clock

    def place_on(days_ago: int, *args, **kwargs):
        moment = real_now() - timedelta(days=days_ago)

        def clock(self, connection, table):
            return f"(SELECT GREATEST(%s::timestamptz, MAX(recorded_at)) FROM {table})", [moment]

        monkeypatch.setattr(timezone, "now", lambda: moment)
        monkeypatch.setattr(PostgreSQLRecorder, "_clock", clock)
        try:
            return place(*args, **kwargs)
        finally:
            monkeypatch.setattr(timezone, "now", real_now)
            monkeypatch.setattr(PostgreSQLRecorder, "_clock", real_clock)

    return place_on


def bars(html: str, chart_id: str) -> list[str]:
    """Return the days of the bars in one chart."""
    svg = re.search(rf'<div id="{chart_id}">(.*?)</svg>', html, re.S).group(1)
    assert svg.lstrip().startswith("<svg")
    return re.findall(r'<rect class="bar"[^>]*data-day="([0-9-]+)"', svg)


def test_the_overview_draws_orders_and_revenue_per_day(client, staff, on_day):
    today = timezone.localdate()
    on_day(45, "carol", line("OLD", 1, "1.00"))  # outside the 30 days
    on_day(3, "alice", line("B-1", 1, "100.00"))
    cancelled = on_day(3, "bob", line("B-1", 1, "1000.00"))
    shipped = on_day(0, "alice", line("A-1", 2, "10.00"))
    on_day(0, "bob", line("A-1", 1, "5.50"))
    on_day(0, "carol", line("U-1", 1, "7.00"), currency="USD")
    run(commands.CancelOrder(cancelled), "bob")
    run(commands.ShipOrder(shipped), "stella", staff=True)
    catch_up()

    html = logged_in(client, staff).get(OVERVIEW).content.decode()

    three_days_ago = (today - timedelta(days=3)).isoformat()
    assert bars(html, "orders-chart") == [three_days_ago, today.isoformat()]
    assert bars(html, "revenue-chart") == [three_days_ago, today.isoformat()]
    assert "<title>" + today.isoformat() + ": 3 orders</title>" in html
    # Revenue excludes the cancelled order; EUR leads, USD is one click away.
    assert "<title>" + three_days_ago + ": 100.00 EUR</title>" in html
    assert "<title>" + today.isoformat() + ": 25.50 EUR</title>" in html
    assert 'href="?currency=USD"' in html
    assert re.search(r'id="open-orders">.*?class="value">4<', html, re.S)
    assert re.search(r'id="orders-window">.*?class="value">5<', html, re.S)
    assert re.search(r"Revenue EUR, last 30 days</div><div class=\"value\">125.50<", html)
    for name in ("order_view", "customer_summary", "product_sales"):
        assert f'class="projection-{name}"' in html
    assert "up_to_date" in html

    usd = logged_in(client, staff).get(OVERVIEW, {"currency": "USD"}).content.decode()
    assert bars(usd, "revenue-chart") == [today.isoformat()]
    assert "7.00 USD" in usd


def test_the_overview_of_an_empty_shop(client, staff):
    html = logged_in(client, staff).get(OVERVIEW).content.decode()
    assert bars(html, "orders-chart") == []
    assert "No revenue in the last 30 days." in html


def test_the_overview_is_for_staff_only(client, alice):
    client.force_login(alice)
    response = client.get(OVERVIEW)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
