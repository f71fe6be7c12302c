"""Customers and product sales in the admin: read-only lists with search."""

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from ..models import CustomerSummary, ProductSales
from .base import StaffReadOnlyAdmin


def amounts(value: dict[str, str]) -> str:
    """Render a {currency: amount} map as "EUR 12.00, USD 3.50"."""
    return ", ".join(f"{currency} {amount}" for currency, amount in sorted(value.items())) or "-"


@admin.register(CustomerSummary)
class CustomerSummaryAdmin(StaffReadOnlyAdmin):
    list_display = ["customer_id", "orders_count", "open_orders", "totals_display", "last_order_at"]
    list_filter = [("last_order_at", admin.DateFieldListFilter)]
    search_fields = ["customer_id"]
    ordering = ["customer_id"]
    readonly_fields = ["customer_id", "orders_count", "open_orders", "totals_display"]
    fields = [*readonly_fields, "last_order_at", "orders_link"]

    @admin.display(description="totals (cancelled excluded)")
    def totals_display(self, summary: CustomerSummary) -> str:
        return amounts(summary.totals)

    @admin.display(description="orders")
    def orders_link(self, summary: CustomerSummary) -> str:
        url = reverse("admin:orders_read_orderview_changelist")
        return format_html(
            '<a href="{}?{}">Orders of {}</a>',
            url,
            urlencode({"q": summary.customer_id}),
            summary.customer_id,
        )


@admin.register(ProductSales)
class ProductSalesAdmin(StaffReadOnlyAdmin):
    list_display = ["sku", "units_sold", "orders_count", "revenue_display"]
    search_fields = ["sku"]
    ordering = ["sku"]
    fields = ["sku", "units_sold", "orders_count", "revenue_display"]
    readonly_fields = fields

    @admin.display(description="revenue (cancelled excluded)")
    def revenue_display(self, sales: ProductSales) -> str:
        return amounts(sales.revenue)
