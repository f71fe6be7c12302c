"""Snapshot rows are encoded fast, and read back exactly as the model's encoder wrote them."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest

from orders_read.models import SnapshotEncoder
from orders_read.snapshots import _encode

ROWS = [
    {
        "customer_id": "alice",
        "orders_count": 3,
        "totals": {"EUR": Decimal("25.50"), "USD": Decimal("-0.00"), "JPY": Decimal("7")},
        "last_order_at": datetime(2025, 3, 1, 9, 0, 0, 123456, tzinfo=UTC),
    },
    {"at": datetime(2025, 3, 1, 9, 0, tzinfo=UTC), "none": None, "flag": True},
    {"at": datetime(2025, 3, 1, 9, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))},
    {"naive": datetime(2025, 3, 1, 9, 0, 5), "order_id": UUID(int=7), "big": 2**62},
    {"items": [{"sku": "A-1", "quantity": 2, "unit_price": "10.00", "line_total": "20.00"}]},
    {"amount": Decimal("1E+3"), "tiny": Decimal("0.001"), "text": 'quote " and \\ and é'},
    [{"sku": "A-1", "revenue": {"EUR": Decimal("3.30")}}, {"sku": "B-2", "revenue": {}}],
]


@pytest.mark.parametrize("row", ROWS)
def test_the_encoding_parses_to_what_the_model_encoder_gives(row):
    assert json.loads(_encode(row)) == json.loads(SnapshotEncoder().encode(row))


def test_what_neither_encoder_knows_is_refused():
    with pytest.raises(TypeError):
        _encode({"set": {1, 2}})
