"""Input serializers of the commands: shapes and bounds, refused with 400."""

from rest_framework import serializers

from orders_write.domain import values

from .fields import (
    CheckedCharField,
    MoneyField,
    ShippingAddressField,
    StrictCharField,
    StrictIntegerField,
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


def sku_field() -> CheckedCharField:
    return CheckedCharField(values.sku)


def quantity_field() -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=values.MAX_QUANTITY)


class LineInput(StrictSerializer):
    sku = sku_field()
    quantity = quantity_field()
    unit_price = MoneyField()


class PlaceOrderInput(StrictSerializer):
    customer_id = CheckedCharField(values.customer_id, required=False)
    currency = CheckedCharField(values.currency)
    items = LineInput(many=True, allow_empty=False, max_length=values.MAX_ITEMS)
    shipping_address = ShippingAddressField(required=False, allow_null=True)

    def validate_items(self, items):
        skus = [item["sku"] for item in items]
        if len(set(skus)) != len(skus):
            raise serializers.ValidationError("Each SKU may appear only once.")
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
