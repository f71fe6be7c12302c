"""Read-only admin pages of the read models: they change only through projections."""

from django.contrib import admin

from .models import Checkpoint, CustomerSummary, OrderView, ProductSales


class ReadOnlyAdmin(admin.ModelAdmin):
    """Show rows; refuse adds, changes and deletes (rebuild_projections rebuilds them)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OrderView)
class OrderViewAdmin(ReadOnlyAdmin):
    list_display = ["order_id", "customer_id", "status", "currency", "total", "placed_at"]
    list_filter = ["status", "currency"]
    search_fields = ["=order_id", "=customer_id"]
    ordering = ["-placed_position"]


@admin.register(CustomerSummary)
class CustomerSummaryAdmin(ReadOnlyAdmin):
    list_display = ["customer_id", "orders_count", "open_orders", "last_order_at"]
    search_fields = ["=customer_id"]


@admin.register(ProductSales)
class ProductSalesAdmin(ReadOnlyAdmin):
    list_display = ["sku", "units_sold", "orders_count"]
    search_fields = ["sku"]


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["name", "position", "updated_at", "attempts", "error_position", "retry_at"]
