"""The manager's overview: orders and revenue per day, open orders, projection health."""

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.admin import AdminSite
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from ..models import CANCELLED, PLACED, OrderView
from ..projectors.base import money
from .charts import bar_chart
from .projections import projection_health

READ_DB = "read"
DAYS = 30


def overview_get(*, today: date, currency: str | None = None, days: int = DAYS) -> dict[str, Any]:
    """Return the overview's figures for the `days` days up to `today`, from the read models."""
    window = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    start = datetime.combine(window[0], time.min, tzinfo=timezone.get_current_timezone())
    orders = OrderView.objects.using(READ_DB).filter(placed_at__gte=start)
    per_day = {
        row["day"]: row["count"]
        for row in orders.annotate(day=TruncDate("placed_at"))
        .values("day")
        .annotate(count=Count("pk"))
    }
    revenue: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for row in (
        orders.annotate(day=TruncDate("placed_at"))
        .values("day", "currency")
        .annotate(total=Sum("total", filter=~Q(status=CANCELLED)))
    ):
        # SQLite's SUM drops the trailing zeros: show money with its two places.
        revenue[row["currency"]][row["day"]] = money(row["total"] or 0)
    totals = {code: sum(by_day.values(), Decimal(0)) for code, by_day in revenue.items()}
    currencies = sorted(totals, key=lambda code: (-totals[code], code))
    shown = currency if currency in totals else (currencies[0] if currencies else None)
    return {
        "days": days,
        "orders_total": sum(per_day.values()),
        "open_orders": OrderView.objects.using(READ_DB).filter(status=PLACED).count(),
        "orders_chart": bar_chart(window, per_day, label="Orders placed per day", unit="orders"),
        "currencies": currencies,
        "currency": shown,
        "revenue_totals": [(code, totals[code]) for code in currencies],
        "revenue_chart": bar_chart(
            window, revenue.get(shown, {}), label=f"Revenue per day in {shown}", unit=shown or ""
        )
        if shown
        else None,
        "first_day": window[0],
        "last_day": window[-1],
    }


def overview_render(request: HttpRequest, site: AdminSite) -> HttpResponse:
    """Render the overview page inside the admin site's frame."""
    context = {
        **site.each_context(request),
        "title": "Overview",
        **overview_get(today=timezone.localdate(), currency=request.GET.get("currency")),
        "projections": projection_health(),
    }
    return TemplateResponse(request, "admin/ordinal/overview.html", context)
