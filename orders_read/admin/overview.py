"""The manager's overview: orders and net revenue per day, open orders, projection health."""

from collections import defaultdict
from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from ..models import PLACED, DailySales, OrderView
from .charts import bar_chart
from .projections import projection_health

READ_DB = "read"
DAYS = 30


def overview_get(*, today: date, currency: str | None = None, days: int = DAYS) -> dict[str, Any]:
    """Return the overview's figures for the `days` days (UTC) up to `today`.

    They come from the daily sales read model: per day, the orders placed and the net
    revenue booked (a cancellation is booked the day it happens).
    """
    window = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    rows = DailySales.objects.using(READ_DB).filter(day__gte=window[0], day__lte=today)
    placed: dict[date, int] = defaultdict(int)
    revenue: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for day, code, orders, amount in rows.values_list(
        "day", "currency", "orders_placed", "revenue"
    ):
        placed[day] += orders
        revenue[code][day] = amount
    totals = {code: sum(by_day.values(), Decimal("0.00")) for code, by_day in revenue.items()}
    currencies = sorted(totals, key=lambda code: (-totals[code], code))
    shown = currency if currency in totals else (currencies[0] if currencies else None)
    return {
        "days": days,
        "orders_total": sum(placed.values()),
        "open_orders": OrderView.objects.using(READ_DB).filter(status=PLACED).count(),
        "orders_chart": bar_chart(
            window, placed, label="Orders placed per day", unit="orders", integer=True
        ),
        "currencies": currencies,
        "currency": shown,
        "revenue_totals": [(code, totals[code]) for code in currencies],
        "revenue_chart": bar_chart(
            window,
            revenue.get(shown, {}),
            label=f"Net revenue per day in {shown}",
            unit=shown or "",
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
        # The read model's days are UTC dates.
        **overview_get(
            today=timezone.now().astimezone(UTC).date(), currency=request.GET.get("currency")
        ),
        "projections": projection_health(),
    }
    return TemplateResponse(request, "admin/ordinal/overview.html", context)
