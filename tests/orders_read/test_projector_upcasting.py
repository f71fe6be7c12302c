"""Projectors see every event in its newest schema: older stored data is upcast first."""

import copy
from datetime import UTC, datetime
from uuid import UUID

import pytest

from eventlog.personal import NoDataKeys
from eventlog.store import RecordedEvent
from orders_read.projectors import HandlerFailed, OrderViewProjector
from orders_write.domain.events import UnknownSchemaVersion

ORDER = UUID("00000000-0000-4000-8000-000000000001")
AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def placed(address, schema_version: int) -> RecordedEvent:
    data = {
        "order_id": str(ORDER),
        "customer_id": "alice",
        "currency": "EUR",
        "items": [{"sku": "A-1", "quantity": 1, "unit_price": "1.00"}],
        "shipping_address": address,
        "total": "1.00",
    }
    return RecordedEvent(1, "order", ORDER, 1, "OrderPlaced", data, None, AT, schema_version)


def test_a_v1_order_placed_is_projected_with_the_structured_address():
    event = placed({"street": "1 Main St", "city": "Oslo", "country": "NO"}, 1)
    stored = copy.deepcopy(event.data)
    projector = OrderViewProjector(complete=True, data_keys=NoDataKeys())
    projector.apply([event], save=False)
    assert projector.rows[ORDER]["shipping_address"] == {
        "name": "",
        "line1": "1 Main St",
        "line2": "",
        "city": "Oslo",
        "postal_code": "",
        "country": "NO",
    }
    assert event.data == stored  # the recorded event itself is left as it was read


def test_an_event_newer_than_the_code_stops_the_projection_instead_of_being_misread():
    projector = OrderViewProjector(complete=True, data_keys=NoDataKeys())
    with pytest.raises(HandlerFailed) as raised:
        projector.apply([placed(None, 3)], save=False)
    assert isinstance(raised.value.error, UnknownSchemaVersion)
    assert projector.rows == {}
