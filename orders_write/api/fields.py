"""Strict serializer fields: JSON types are checked, not coerced."""

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders_write.domain import values
from orders_write.domain.address import (
    COUNTRIES,
    MAX_ADDRESS_VALUE_LENGTH,
    REQUIRED,
    ShippingAddress,
)
from orders_write.domain.errors import InvalidValue

# A decimal written as plain digits, with an optional sign and fraction: Decimal() also
# takes "1_000", " 1", "1e2" and non-ASCII digits, which are refused as malformed.
DECIMAL_STRING = re.compile(r"(?P<sign>[+-]?)(?P<units>[0-9]+)(?:\.(?P<places>[0-9]+))?")

T = TypeVar("T")


def checked(check: Callable[[Any], T], value: Any) -> T:
    """Return check(value), a domain value function; its InvalidValue becomes a 400 here."""
    try:
        return check(value)
    except InvalidValue as exc:
        # "shipping_address.street": the message belongs to one entry inside this field.
        _, _, inner = exc.field.partition(".")
        raise serializers.ValidationError(
            {inner: [exc.message]} if inner else exc.message
        ) from None


class StrictIntegerField(serializers.IntegerField):
    """An integer that must be a JSON integer (not a string, float or boolean)."""

    default_error_messages = {"invalid": "Must be a JSON integer, e.g. 3."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A string that must be a JSON string (DRF's CharField turns numbers into text)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# The pattern carries the bounds too: 0 to 999999.99, or 1000000 exactly.
@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([0-9]{1,6}(\.[0-9]{1,2})?|1000000(\.00?)?)$",
        "example": "12.50",
    }
)
class MoneyField(serializers.Field):
    """A decimal string with at most 2 places, from 0 to 1000000 (never a JSON number)."""

    default_error_messages = {
        "number": 'Must be a decimal string, e.g. "12.50", not a JSON number.',
        "string": 'Must be a decimal string, e.g. "12.50".',
        "format": 'Must be written as digits with at most 2 decimal places, e.g. "12.50".',
        "negative": "Must not be negative.",
        "sign": "Must be written without a sign.",
        "places": "Must have at most 2 decimal places.",
    }

    def to_internal_value(self, data) -> Decimal:
        if not isinstance(data, str):
            is_number = isinstance(data, (int, float)) and not isinstance(data, bool)
            self.fail("number" if is_number else "string")
        written = DECIMAL_STRING.fullmatch(data)
        if written is None:
            self.fail("format")
        if written["sign"]:  # "-0" and "+1" are refused too: a price has no sign
            self.fail("negative" if written["sign"] == "-" and Decimal(data) else "sign")
        if written["places"] and len(written["places"]) > 2:  # "1.500" as well as "1.005"
            self.fail("places")
        return checked(values.unit_price, data)

    def to_representation(self, value) -> str:
        return str(value)


class CheckedCharField(serializers.CharField):
    """A string checked by one of the domain's value functions."""

    def __init__(self, check, **kwargs):
        self.check = check
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return checked(self.check, data)


EXAMPLE_ADDRESS = {
    "name": "Kari Nordmann",
    "line1": "Karl Johans gate 1",
    "line2": "",
    "city": "Oslo",
    "postal_code": "0154",
    "country": "NO",
}

STRUCTURED_ADDRESS_SCHEMA = {
    "type": "object",
    "title": "ShippingAddress",
    "description": "The structured address. line1, city and country are required.",
    "properties": {
        "name": {"type": "string", "maxLength": MAX_ADDRESS_VALUE_LENGTH},
        "line1": {"type": "string", "minLength": 1, "maxLength": MAX_ADDRESS_VALUE_LENGTH},
        "line2": {"type": "string", "maxLength": MAX_ADDRESS_VALUE_LENGTH},
        "city": {"type": "string", "minLength": 1, "maxLength": MAX_ADDRESS_VALUE_LENGTH},
        "postal_code": {"type": "string", "maxLength": MAX_ADDRESS_VALUE_LENGTH},
        "country": {
            "type": "string",
            "description": "ISO 3166-1 alpha-2 code",
            "enum": sorted(COUNTRIES),
        },
    },
    "required": list(REQUIRED),
    "additionalProperties": False,
}
LEGACY_ADDRESS_SCHEMA = {
    "type": "object",
    "title": "LegacyShippingAddress",
    "deprecated": True,
    "description": (
        "Deprecated, accepted for one more API version: any object of at most "
        f"{values.MAX_ADDRESS_FIELDS} string fields that uses a name outside the "
        "structured ones. It is mapped onto the structured address (street/address -> "
        "line1, zip/postcode -> postal_code, town -> city, a valid country code kept, "
        'other fields kept in line2 as "name: value").'
    ),
    "maxProperties": values.MAX_ADDRESS_FIELDS,
    "additionalProperties": {"type": "string", "maxLength": MAX_ADDRESS_VALUE_LENGTH},
}


@extend_schema_field(
    {
        "nullable": True,
        "anyOf": [STRUCTURED_ADDRESS_SCHEMA, LEGACY_ADDRESS_SCHEMA],
        "example": EXAMPLE_ADDRESS,
    }
)
class ShippingAddressField(serializers.Field):
    """The structured address (or the deprecated free-form object, mapped onto it)."""

    def to_internal_value(self, data) -> ShippingAddress | None:
        return checked(values.shipping_address, data)

    def to_representation(self, value):
        return value


# The value functions' bounds, in the schema: generated and hand-written clients alike can
# then build valid requests from the document alone.
@extend_schema_field(
    {"type": "string", "pattern": r"^[A-Za-z0-9._-]{1,64}$", "maxLength": 64, "example": "A-1"}
)
class SkuField(CheckedCharField):
    def __init__(self, **kwargs):
        super().__init__(values.sku, **kwargs)


@extend_schema_field({"type": "string", "enum": sorted(values.CURRENCIES), "example": "EUR"})
class CurrencyField(CheckedCharField):
    """An active ISO 4217 code."""

    def __init__(self, **kwargs):
        super().__init__(values.currency, **kwargs)


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": 150})
class CustomerIdField(CheckedCharField):
    """A username: 1..150 printable characters."""

    def __init__(self, **kwargs):
        super().__init__(values.customer_id, **kwargs)
