"""Input serializers of the commands: shapes and bounds, refused with 400."""

from typing import Any, ClassVar

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from config.openapi import ProblemSerializer
from orders_write.domain import values
from orders_write.models import COMMAND_STATUSES

from .fields import (
    EXAMPLE_ADDRESS,
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

    # A valid body: the browsable API's form starts from it, so that the body the form
    # shows is accepted as is. (A comment, not the docstring: that goes into the schema.)
    example: ClassVar[dict[str, Any]] = {}

    @classmethod
    def example_for(cls, *, username: str, is_staff: bool) -> dict[str, Any]:
        """Return a valid body for this user to start from."""
        return dict(cls.example)

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

    example = {"sku": "B-2", "quantity": 1, "unit_price": "4.00"}


class PlaceOrderInput(StrictSerializer):
    customer_id = CustomerIdField(required=False)
    currency = CurrencyField()
    items = LineInput(many=True, allow_empty=False, max_length=values.MAX_ITEMS)
    shipping_address = ShippingAddressField(required=False, allow_null=True)

    # The examples of the commands on one order follow from this one: B-2 is added, A-1's
    # quantity changed, B-2 removed again, then the order shipped or cancelled.
    example = {
        "currency": "EUR",
        "items": [{"sku": "A-1", "quantity": 2, "unit_price": "12.50"}],
        "shipping_address": EXAMPLE_ADDRESS,
    }

    @classmethod
    def example_for(cls, *, username: str, is_staff: bool) -> dict[str, Any]:
        """Return the example; staff get `customer_id` too, set to their own username.

        A customer orders for themself, so the field is left out; for staff it names an
        account that exists, to be replaced by the customer's username.
        """
        example = super().example_for(username=username, is_staff=is_staff)
        return {"customer_id": username, **example} if is_staff else example

    def validate_items(self, items):
        checked(values.distinct_skus, [item["sku"] for item in items])
        return items


class AddItemInput(LineInput):
    pass


class ChangeQuantityInput(StrictSerializer):
    sku = sku_field()
    quantity = quantity_field()

    example = {"sku": "A-1", "quantity": 3}


class RemoveItemInput(StrictSerializer):
    sku = sku_field()

    example = {"sku": "B-2"}


class ShipOrderInput(StrictSerializer):
    tracking_number = StrictCharField(
        required=False, allow_blank=True, max_length=values.MAX_TRACKING_NUMBER_LENGTH
    )

    example = {"tracking_number": "TRK-1"}


class CancelOrderInput(StrictSerializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=values.MAX_REASON_LENGTH)

    example = {"reason": "Ordered by mistake."}


class CommandResultOutput(serializers.Serializer):
    order_id = serializers.UUIDField()
    version = serializers.IntegerField()
    position = serializers.IntegerField()


class ForgetCustomerInput(StrictSerializer):
    """No body: the path names the customer."""


class ForgetCustomerOutput(serializers.Serializer):
    customer_id = serializers.CharField()
    version = serializers.IntegerField(help_text="The version of the customer's own stream")
    position = serializers.IntegerField(
        help_text="Global position of CustomerForgotten: the read-your-writes token"
    )


class CommandAcceptedOutput(serializers.Serializer):
    command_id = serializers.UUIDField(help_text="The inbox entry: GET /api/commands/{id}/")
    status = serializers.ChoiceField(
        choices=COMMAND_STATUSES,
        help_text="`queued` when new; a retry with the same Idempotency-Key gets the "
        "first entry's status now",
    )


class CommandStatusOutput(CommandAcceptedOutput):
    order_id = serializers.UUIDField(required=False, help_text="On success: the order")
    customer_id = serializers.CharField(
        required=False, help_text="On success of a forget: the customer"
    )
    version = serializers.IntegerField(required=False, help_text="On success")
    position = serializers.IntegerField(
        required=False, help_text="On success: the read-your-writes token"
    )
    problem = ProblemSerializer(
        required=False,
        help_text="On failure: the problem document the synchronous call would have "
        "answered, `status` included",
    )
