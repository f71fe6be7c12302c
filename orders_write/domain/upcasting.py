"""Upcasters: pure functions that lift a stored event's data one schema version up.

Everything that reads events calls `upcast` first, so it only ever sees the newest shape.
"""

from collections.abc import Callable
from typing import Any

Data = dict[str, Any]

# (event type, version it reads) -> function returning the data at version + 1.
UPCASTERS: dict[tuple[str, int], Callable[[Data], Data]] = {}


def upcast(type_name: str, schema_version: int, data: Data) -> Data:
    """Return the event's data lifted from `schema_version` to its type's current version."""
    from .events import Event

    current = Event.registry[type_name].schema_version
    while schema_version < current:
        data = UPCASTERS[(type_name, schema_version)](data)
        schema_version += 1
    return data
