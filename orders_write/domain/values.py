"""Value objects and the bounds every order value must respect."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .address import MAX_ADDRESS_VALUE_LENGTH, PARTS, ShippingAddress, address_from_free_form
from .errors import InvalidValue

MAX_ITEMS = 100
MAX_QUANTITY = 10_000
MAX_UNIT_PRICE = Decimal("1000000")
MAX_ADDRESS_FIELDS = 10
MAX_ADDRESS_KEY_LENGTH = 64
MAX_TRACKING_NUMBER_LENGTH = 100
MAX_REASON_LENGTH = 500
CENT = Decimal("0.01")

SKU_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")

# Active ISO 4217 codes (funds and precious metals excluded).
CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
    MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK
    PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
    SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST
    XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    """.split()
)


def currency(value: object) -> str:
    """Return a valid ISO 4217 currency code or raise InvalidValue."""
    if not isinstance(value, str) or not CURRENCY_PATTERN.fullmatch(value):
        raise InvalidValue(
            "currency", 'Must be an ISO 4217 code of 3 upper-case letters, e.g. "EUR".'
        )
    if value not in CURRENCIES:
        # Well formed, but no code of a currency in use (e.g. "ZZZ", or "XAU" for gold).
        raise InvalidValue("currency", "Not an ISO 4217 currency.")
    return value


def customer_id(value: object) -> str:
    """Return a customer id (a username: 1..150 printable characters) or raise InvalidValue."""
    if not isinstance(value, str) or not 1 <= len(value) <= 150 or not value.isprintable():
        raise InvalidValue("customer_id", "Must be 1 to 150 printable characters.")
    return value


def sku(value: object, field: str = "sku") -> str:
    """Return a valid SKU or raise InvalidValue."""
    if not isinstance(value, str) or not SKU_PATTERN.fullmatch(value):
        raise InvalidValue(
            field, "Must be 1 to 64 ASCII letters, digits, hyphens, underscores or dots."
        )
    return value


def quantity(value: object, field: str = "quantity") -> int:
    """Return a quantity within 1..MAX_QUANTITY or raise InvalidValue."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        raise InvalidValue(field, f"Must be an integer from 1 to {MAX_QUANTITY}.")
    return value


def unit_price(value: object, field: str = "unit_price") -> Decimal:
    """Return a price as a Decimal with two places, or raise InvalidValue."""
    try:
        price = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidValue(field, "Must be a decimal string.") from None
    if isinstance(value, (bool, float)) or not price.is_finite():
        raise InvalidValue(field, "Must be a decimal string.")
    if price < 0:
        raise InvalidValue(field, "Must not be negative.")
    if price > MAX_UNIT_PRICE:
        raise InvalidValue(field, f"Must be at most {MAX_UNIT_PRICE}.")
    if price != price.quantize(CENT):
        raise InvalidValue(field, "Must have at most 2 decimal places.")
    return price.quantize(CENT)


def optional_text(value: object, field: str, max_length: int) -> str:
    """Return printable text of at most max_length characters ("" for None)."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_length or not value.isprintable():
        raise InvalidValue(field, f"Must be printable text of at most {max_length} characters.")
    return value


def shipping_address(value: object) -> ShippingAddress | None:
    """Return the order's shipping address, or None for no address.

    Two request shapes: an object whose keys are all among the structured parts
    (`name, line1, line2, city, postal_code, country`) is the structured address and is
    checked strictly (`ShippingAddress.create`). Any other object is the legacy
    free-form shape (at most 10 string fields of at most 200 characters), accepted for
    one more API version and mapped exactly as the v1 -> v2 upcaster maps stored ones.
    """
    if value is None or isinstance(value, ShippingAddress):
        return value
    if isinstance(value, dict) and value and set(value) <= set(PARTS):
        return ShippingAddress.create(value)
    if not isinstance(value, dict) or len(value) > MAX_ADDRESS_FIELDS:
        raise InvalidValue(
            "shipping_address", f"Must be an object of at most {MAX_ADDRESS_FIELDS} fields."
        )
    for key, text in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_ADDRESS_KEY_LENGTH:
            raise InvalidValue(
                "shipping_address", f"Field names must be 1 to {MAX_ADDRESS_KEY_LENGTH} characters."
            )
        if not isinstance(text, str) or len(text) > MAX_ADDRESS_VALUE_LENGTH:
            raise InvalidValue(
                f"shipping_address.{key}",
                f"Must be a string of at most {MAX_ADDRESS_VALUE_LENGTH} characters.",
            )
    mapped = address_from_free_form(value)
    return None if mapped is None else ShippingAddress(**mapped)


def distinct_skus(skus: Iterable[str]) -> None:
    """Raise InvalidValue on "items" if a SKU appears more than once among an order's lines."""
    seen: set[str] = set()
    for sku_value in skus:
        if sku_value in seen:
            raise InvalidValue(
                "items", f"SKU {sku_value} is on more than one line; each SKU may appear only once."
            )
        seen.add(sku_value)


@dataclass(frozen=True)
class Line:
    """One line of an order: a SKU, how many, and the price of one unit."""

    sku: str
    quantity: int
    unit_price: Decimal

    @property
    def total(self) -> Decimal:
        return self.quantity * self.unit_price

    @classmethod
    def create(cls, sku_value: object, quantity_value: object, price_value: object) -> "Line":
        return cls(sku(sku_value), quantity(quantity_value), unit_price(price_value))
