"""Customers and product sales in the admin: read-only lists with search; forget customers."""

from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from eventlog.models import DataKey
from orders_write.commands import ForgetCustomer

from ..models import CustomerSummary, ProductSales
from .base import StaffReadOnlyAdmin
from .staff_commands import dispatch_each, read_your_writes, with_position

WRITE_DB = "default"


def amounts(value: dict[str, str]) -> str:
    """Render a {currency: amount} map as "EUR 12.00, USD 3.50"."""
    return ", ".join(f"{currency} {amount}" for currency, amount in sorted(value.items())) or "-"


def forgotten_among(customer_ids: list[str]) -> set[str]:
    """Return which of these customers are forgotten already (their data key destroyed)."""
    keys = DataKey.objects.using(WRITE_DB).filter(owner__in=customer_ids, wrapped__isnull=True)
    return set(keys.values_list("owner", flat=True))


@admin.register(CustomerSummary)
class CustomerSummaryAdmin(StaffReadOnlyAdmin):
    list_display = ["customer_id", "orders_count", "open_orders", "totals_display", "last_order_at"]
    list_filter = [("last_order_at", admin.DateFieldListFilter)]
    search_fields = ["customer_id"]
    ordering = ["customer_id"]
    readonly_fields = ["customer_id", "orders_count", "open_orders", "totals_display"]
    fields = [*readonly_fields, "last_order_at", "orders_link"]
    # Any staff member, as Ship and Cancel: the command itself requires staff (DESIGN §12).
    actions = ["forget_selected"]

    def changelist_view(self, request, extra_context=None):
        """Show the list, once the read models have the changes just made (?min_position=)."""
        read_your_writes(request)
        return super().changelist_view(request, extra_context)

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

    @admin.action(description="Forget selected customers…")
    def forget_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        """Ask for confirmation, then forget each customer (ForgetCustomer each).

        Forgetting cannot be undone, so nothing is sent without the confirmation's POST.
        """
        # Rows first: the commands run on the write database, never inside a read query.
        customers = list(queryset.order_by("customer_id"))
        customer_ids = [c.customer_id for c in customers]
        if request.POST.get("post") == "yes":
            outcomes = dispatch_each(request, customer_ids, ForgetCustomer)
            self.message_user(request, outcomes.summary("forgotten"), outcomes.level)
            # The order pages show "[forgotten]" once the order read model has the event.
            url = with_position(request.get_full_path(), outcomes.last_position)
            return HttpResponseRedirect(url)
        context = {
            **self.admin_site.each_context(request),
            "title": "Forget customers",
            "opts": self.model._meta,
            "customers": customers,
            "forgotten": forgotten_among(customer_ids),
            "back": request.get_full_path(),
        }
        return TemplateResponse(request, "admin/ordinal/forget_customers.html", context)


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
