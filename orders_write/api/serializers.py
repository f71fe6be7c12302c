"""Input serializers of the commands: shapes and bounds, refused with 400."""

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from orders_write.domain import values

from .fields import (
    CurrencyField,
    CustomerIdField,
    MoneyField,
    ShippingAddressField,
    SkuField,
    StrictCharField,
    StrictIntegerField,
    checked,
)


class StrictSerializer(serializers.Serializer):
    """A serializer that refuses fields it does not know."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {str(name)[:64]: ["Unknown field."] for name in unknown[:20]}
                )
        return super().to_internal_value(data)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """Say in the schema what StrictSerializer enforces: no unknown fields, bounded lists."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        fields = self.target.fields if hasattr(self.target, "fields") else self.target().fields
        for name, field in fields.items():
            if isinstance(field, serializers.ListSerializer) and name in schema["properties"]:
                if not field.allow_empty:
                    schema["properties"][name]["minItems"] = max(1, field.min_length or 0)
                if field.max_length is not None:
                    schema["properties"][name]["maxItems"] = field.max_length
        return schema


def sku_field() -> SkuField:
    return SkuField()


def quantity_field() -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=values.MAX_QUANTITY)


class LineInput(StrictSerializer):
    sku = sku_field()
    quantity = quantity_field()
    unit_price = MoneyField()


class PlaceOrderInput(StrictSerializer):
    customer_id = CustomerIdField(required=False)
    currency = CurrencyField()
    items = LineInput(many=True, allow_empty=False, max_length=values.MAX_ITEMS)
    shipping_address = ShippingAddressField(required=False, allow_null=True)

    def validate_items(self, items):
        checked(values.distinct_skus, [item["sku"] for item in items])
        return items


class AddItemInput(LineInput):
    pass


class ChangeQuantityInput(StrictSerializer):
    sku = sku_field()
    quantity = quantity_field()


class RemoveItemInput(StrictSerializer):
    sku = sku_field()


class ShipOrderInput(StrictSerializer):
    tracking_number = StrictCharField(
        required=False, allow_blank=True, max_length=values.MAX_TRACKING_NUMBER_LENGTH
    )


class CancelOrderInput(StrictSerializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=values.MAX_REASON_LENGTH)


class CommandResultOutput(serializers.Serializer):
    order_id = serializers.UUIDField()
    version = serializers.IntegerField()
    position = serializers.IntegerField()
