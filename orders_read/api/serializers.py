"""Query parameter and output serializers of the query API; money is always a string."""

from rest_framework import serializers

from ..models import STATUSES, CustomerSummary, OrderView, ProductSales

MAX_POSITION = 2**63 - 1


class ReadInput(serializers.Serializer):
    """Parameters every query accepts."""

    min_position = serializers.IntegerField(min_value=0, max_value=MAX_POSITION, required=False)


class ListOrdersInput(ReadInput):
    """Filters and paging of an order list."""

    customer_id = serializers.CharField(max_length=150, required=False)
    status = serializers.ChoiceField(choices=STATUSES, required=False)
    placed_after = serializers.DateTimeField(required=False)
    placed_before = serializers.DateTimeField(required=False)
    cursor = serializers.CharField(max_length=200, required=False)
    page_size = serializers.IntegerField(min_value=1, max_value=100, required=False)


class CustomerOrdersInput(ListOrdersInput):
    """Filters and paging of one customer's orders: the path names the customer."""

    customer_id = None


def money_map(help_text: str) -> serializers.DictField:
    return serializers.DictField(child=serializers.CharField(), help_text=help_text)


class OrderItemOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.CharField(help_text="Decimal string, e.g. 12.50")
    line_total = serializers.CharField(help_text="quantity x unit_price, a decimal string")


class OrderOutput(serializers.ModelSerializer):
    items = OrderItemOutput(many=True)
    total = serializers.DecimalField(max_digits=20, decimal_places=2, coerce_to_string=True)
    shipping_address = serializers.DictField(child=serializers.CharField())

    class Meta:
        model = OrderView
        fields = [
            "order_id",
            "customer_id",
            "status",
            "currency",
            "items",
            "item_count",
            "total",
            "shipping_address",
            "tracking_number",
            "placed_at",
            "updated_at",
            "shipped_at",
            "cancelled_at",
            "version",
        ]


class OrderPageOutput(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderOutput(many=True)


class CustomerOutput(serializers.ModelSerializer):
    totals = money_map('Per currency, cancelled orders excluded: {"EUR": "12.50"}')

    class Meta:
        model = CustomerSummary
        fields = ["customer_id", "orders_count", "open_orders", "totals", "last_order_at"]


class ProductSalesOutput(serializers.ModelSerializer):
    revenue = money_map('Per currency, cancelled orders excluded: {"EUR": "12.50"}')

    class Meta:
        model = ProductSales
        fields = ["sku", "units_sold", "orders_count", "revenue"]


class HistoryEventOutput(serializers.Serializer):
    position = serializers.IntegerField()
    version = serializers.IntegerField()
    type = serializers.CharField()
    data = serializers.JSONField()
    recorded_at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)


class ProjectionErrorOutput(serializers.Serializer):
    message = serializers.CharField()
    position = serializers.IntegerField(allow_null=True)
    attempts = serializers.IntegerField()
    retry_at = serializers.DateTimeField(allow_null=True)


class ProjectionStatusOutput(serializers.Serializer):
    name = serializers.CharField()
    position = serializers.IntegerField()
    head = serializers.IntegerField()
    lag_events = serializers.IntegerField()
    lag_seconds = serializers.FloatField()
    status = serializers.CharField()
    last_error = ProjectionErrorOutput(allow_null=True)
