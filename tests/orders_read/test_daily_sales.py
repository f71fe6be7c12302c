"""The daily sales read model against the log and the other read models, over several days."""

import random
from collections import Counter, defaultdict
from decimal import Decimal

import pytest

from orders_read import rebuilds
from orders_read.models import CustomerSummary, DailySales, OrderView

from .conftest import BOTH_DATABASES, catch_up, snapshot
from .test_rebuild import random_commands

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)


@pytest.fixture
def five_days(days_ago):
    """Random commands on five days (oldest first), projected now and then."""
    rng = random.Random(7)
    for days in (6, 4, 2, 1, 0):
        with days_ago(days):
            random_commands(rng, 60)
    catch_up(batch_size=17)


def test_over_all_days_the_sales_add_up_to_the_orders_and_the_customer_totals(five_days):
    days = list(DailySales.objects.using("read").all())
    assert len({row.day for row in days}) == 5
    orders = OrderView.objects.using("read")
    assert sum(row.orders_placed for row in days) == orders.count()
    assert sum(row.orders_cancelled for row in days) == orders.filter(status="cancelled").count()
    booked: dict[str, Decimal] = defaultdict(Decimal)
    for row in days:
        booked[row.currency] += row.revenue
    # The customers' totals exclude cancelled orders: what the days booked, net.
    totals: Counter = Counter()
    for summary in CustomerSummary.objects.using("read").all():
        totals.update({code: Decimal(amount) for code, amount in summary.totals.items()})
    assert dict(booked) == dict(totals) != {}


def test_a_rebuild_over_several_days_equals_the_incremental_model(five_days):
    incremental = snapshot()["DailySales"]
    assert len(incremental) > 5
    rebuilds.projections_rebuild(["daily_sales"], batch_size=23)
    assert snapshot()["DailySales"] == incremental
