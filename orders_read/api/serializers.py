"""Query parameter and output serializers of the query API; money is always a string."""

from dataclasses import fields
from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.settings import api_settings

from ..filters import OrderFilters
from ..models import CustomerSummary, DailySales, OrderView, ProductSales

MAX_POSITION = 2**63 - 1
# A hostile query string may hold thousands of names: report a few, each cut short.
MAX_REPORTED_NAMES, MAX_NAME_LENGTH = 20, 64


class QueryParametersInput(serializers.Serializer):
    """A query string that holds only the parameters declared here (and DRF's own `format`).

    Any other name is refused (400 naming it), so that a misspelt filter is not silently
    ignored and answered with everything.
    """

    def to_internal_value(self, data):
        known = set(self.fields) | {api_settings.URL_FORMAT_OVERRIDE}  # ?format=json or api
        unknown = sorted(set(data) - known)
        if unknown:
            raise serializers.ValidationError(
                {
                    name[:MAX_NAME_LENGTH]: ["Unknown query parameter."]
                    for name in unknown[:MAX_REPORTED_NAMES]
                }
            )
        return super().to_internal_value(data)


class ReadInput(QueryParametersInput):
    """Parameters every query accepts."""

    min_position = serializers.IntegerField(min_value=0, max_value=MAX_POSITION, required=False)


class AsOfInput(ReadInput):
    """Parameters of a query that can also answer as of an instant."""

    as_of = serializers.DateTimeField(
        required=False,
        help_text="An ISO 8601 instant, e.g. 2026-03-01T12:00:00Z: answer as things stood "
        "then (every event recorded at or before it applied). Without an offset it is UTC.",
    )


class DailySalesInput(ReadInput):
    """Parameters of the daily sales report: every one narrows it, none is required."""

    currency = serializers.RegexField(
        r"^[A-Z]{3}$",
        required=False,
        help_text='An ISO 4217 code, e.g. "EUR": only the rows in that currency.',
    )
    since = serializers.DateField(
        required=False, help_text="The first day (UTC) to report, e.g. 2026-03-01."
    )
    until = serializers.DateField(
        required=False, help_text="The last day (UTC) to report, e.g. 2026-03-31."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since > until:
            raise serializers.ValidationError({"until": ["Must not be before `since`."]})
        return attrs


def parameters_input(name: str, params: type, *, exclude: tuple[str, ...] = ()) -> type:
    """Build the query-string serializer of a parameters dataclass (e.g. OrderFilters).

    Each dataclass field declares its API field (see `filters.parameter`); every one is
    optional here. The validated data is {"min_position": ..., "filters": params(...)},
    the keyword arguments of the query.
    """

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {"min_position": attrs.pop("min_position", None), "filters": params(**attrs)}

    declared: dict[str, Any] = {"validate": validate, "__doc__": params.__doc__}
    for spec in fields(params):
        if spec.name not in exclude:
            api_field, options = spec.metadata["api_field"]
            declared[spec.name] = api_field(required=False, **options)
    return type(name, (ReadInput,), declared)


ListOrdersInput = parameters_input("ListOrdersInput", OrderFilters)
# One customer's orders: the path names the customer.
CustomerOrdersInput = parameters_input(
    "CustomerOrdersInput", OrderFilters, exclude=("customer_id",)
)


def money_map(help_text: str) -> serializers.DictField:
    return serializers.DictField(child=serializers.CharField(), help_text=help_text)


class OrderItemOutput(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.CharField(help_text="Decimal string, e.g. 12.50")
    line_total = serializers.CharField(help_text="quantity x unit_price, a decimal string")


class ShippingAddressOutput(serializers.Serializer):
    """The structured address; "" for a part not given (old free-form ones lack some)."""

    name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField(help_text='ISO 3166-1 alpha-2, e.g. "NO"')

    def to_representation(self, instance: dict) -> dict | None:
        # The read model keeps {} for "no address": the API says null.
        if not instance:
            return None
        return {name: instance.get(name, "") for name in self.fields}


class OrderOutput(serializers.ModelSerializer):
    items = OrderItemOutput(many=True)
    total = serializers.DecimalField(max_digits=20, decimal_places=2, coerce_to_string=True)
    shipping_address = ShippingAddressOutput(
        allow_null=True, help_text="null: no address given, or redacted"
    )
    redacted = serializers.BooleanField(
        help_text="true: the customer was forgotten; personal fields (the address) are null"
    )

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
            "redacted",
            "tracking_number",
            "placed_at",
            "updated_at",
            "shipped_at",
            "cancelled_at",
            "version",
        ]


# One page object, not a list of them, although the list action answers it.
@extend_schema_serializer(many=False)
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


class DailySalesOutput(serializers.ModelSerializer):
    day = serializers.DateField(help_text="The day (UTC) the events were recorded on.")
    orders_placed = serializers.IntegerField(help_text="Orders placed that day.")
    orders_cancelled = serializers.IntegerField(help_text="Orders cancelled that day.")
    revenue = serializers.DecimalField(
        max_digits=20,
        decimal_places=2,
        coerce_to_string=True,
        help_text="Net revenue booked that day, a decimal string (below zero when "
        "cancellations outweigh it): totals of orders placed, plus item changes, minus "
        "totals of orders cancelled.",
    )

    class Meta:
        model = DailySales
        fields = ["day", "currency", "orders_placed", "orders_cancelled", "revenue"]


class HistoryEventOutput(serializers.Serializer):
    position = serializers.IntegerField()
    version = serializers.IntegerField()
    type = serializers.CharField()
    data = serializers.JSONField()
    recorded_at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)


class ExportEventOutput(HistoryEventOutput):
    stream_type = serializers.CharField(help_text='"order", or "customer" for their own stream')
    stream_id = serializers.UUIDField()


class CustomerExportOutput(serializers.Serializer):
    customer_id = serializers.CharField()
    forgotten = serializers.BooleanField(
        help_text="true: the customer was forgotten; personal fields read as redacted"
    )
    orders = OrderOutput(many=True)
    events = ExportEventOutput(
        many=True, help_text="Every event of their orders and of their own stream, in log order"
    )


class ProjectionErrorOutput(serializers.Serializer):
    message = serializers.CharField()
    position = serializers.IntegerField(allow_null=True)
    stream_id = serializers.UUIDField()
    attempts = serializers.IntegerField()
    retry_at = serializers.DateTimeField(allow_null=True)


class RebuildProgressOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["rebuild", "verify", "build"])
    status = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    position = serializers.IntegerField()
    head = serializers.IntegerField()
    percent = serializers.FloatField()
    events_per_second = serializers.IntegerField(allow_null=True)
    eta_seconds = serializers.IntegerField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    result = serializers.CharField()


class PartitionStatusOutput(serializers.Serializer):
    partition = serializers.IntegerField(help_text="From 0.")
    position = serializers.IntegerField(help_text="The position of its checkpoint's event.")
    partitions = serializers.IntegerField(help_text="How many the projection is split into.")
    lag_events = serializers.IntegerField(
        help_text="Committed events after its checkpoint (its streams' and the others')."
    )
    lag_seconds = serializers.FloatField(help_text="Age of the oldest of them.")


class ProjectionStatusOutput(serializers.Serializer):
    name = serializers.CharField()
    position = serializers.IntegerField()
    head = serializers.IntegerField()
    lag_events = serializers.IntegerField()
    lag_seconds = serializers.FloatField()
    status = serializers.ChoiceField(choices=["building", "catching_up", "up_to_date", "degraded"])
    parked_streams = serializers.IntegerField()
    last_error = ProjectionErrorOutput(allow_null=True)
    rebuild = RebuildProgressOutput(allow_null=True)
    partitions = PartitionStatusOutput(
        many=True, help_text="Each partition (ORDINAL_PROJECTION_PARTITIONS > 1); else empty."
    )
