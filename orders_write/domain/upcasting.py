"""Upcasters: pure functions that lift a stored event's data one schema version up.

Everything that reads events calls `upcast` (or `events.event_from`, which does) first,
so it only ever sees the newest shape. Stored rows are never rewritten.

To change an event's shape: bump its class's `schema_version` to N, write the function
taking the data at N - 1 to N here, and register it in UPCASTERS under
(type name, N - 1). A test fails if any step from 1 to the current version is missing.
This module knows no event class, so the classes can import it without a cycle.
"""

from collections.abc import Callable
from typing import Any

from .address import address_from_free_form

Data = dict[str, Any]


def order_placed_v1_to_v2(data: Data) -> Data:
    """OrderPlaced v1 -> v2: the free-form shipping address becomes the structured one.

    v1 stored any small object of strings (or {} for none); v2 stores
    `{name, line1, line2, city, postal_code, country}` or null. The mapping is
    `address.address_from_free_form` (street/address -> line1, zip/postcode ->
    postal_code, a valid alpha-2 country upper-cased, any other key kept in line2 as
    "key: value", {} -> null), the same function the API applies to the legacy request
    shape. The input is not changed: a new dict is returned.
    """
    return {**data, "shipping_address": address_from_free_form(data.get("shipping_address") or {})}


# (event type, version it reads) -> function returning the data at version + 1.
UPCASTERS: dict[tuple[str, int], Callable[[Data], Data]] = {
    ("OrderPlaced", 1): order_placed_v1_to_v2,
}


def lift(type_name: str, schema_version: int, data: Data) -> tuple[int, Data]:
    """Return (the version reached, the data) after every registered step from `schema_version`."""
    step = UPCASTERS.get((type_name, schema_version))
    while step is not None:
        data = step(data)
        schema_version += 1
        step = UPCASTERS.get((type_name, schema_version))
    return schema_version, data


def upcast(type_name: str, schema_version: int, data: Data) -> Data:
    """Return the event's data lifted from `schema_version` to its type's current version.

    The chain of upcasters ends at each class's `schema_version` (a test holds it so);
    `events.event_from` also refuses data the chain does not bring to the current version.
    """
    return lift(type_name, schema_version, data)[1]
