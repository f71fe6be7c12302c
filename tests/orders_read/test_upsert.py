"""The bulk upsert writes the same rows whichever way it goes: statements or COPY."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders_read.models import OrderView
from orders_read.projectors import upsert as upsert_module
from orders_read.projectors.upsert import upsert

from .conftest import BOTH_DATABASES

pytestmark = pytest.mark.django_db(databases=BOTH_DATABASES)

AT = datetime(2025, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)


def order(n: int, **values) -> dict:
    return {
        "order_id": uuid.UUID(int=n),
        "customer_id": "alice",
        "status": "placed",
        "currency": "EUR",
        "items": [{"sku": "A-1", "quantity": 2, "unit_price": "1.10", "line_total": "2.20"}],
        "item_count": 2,
        "total": Decimal("2.20"),
        "shipping_address": {"city": "Lyon", "note": 'a "quote", a \\ and a tab\t'},
        "redacted": False,
        "tracking_number": "",
        "placed_at": AT,
        "placed_position": n,
        "updated_at": AT,
        "shipped_at": None,
        "cancelled_at": None,
        "version": 1,
        **values,
    }


def rows_written(rows: list[dict], monkeypatch, copy: bool) -> list[dict]:
    OrderView.objects.using("read").all().delete()
    monkeypatch.setattr(upsert_module, "COPY_FROM_ROWS", 1 if copy else 10**6)
    upsert(OrderView, rows)
    return list(OrderView.objects.using("read").order_by("placed_position").values())


def test_typed_rows_are_written_alike_and_overwritten(monkeypatch):
    rows = [order(1), order(2, total=Decimal("-0.50"), shipped_at=AT)]
    for copy in (False, True):
        assert rows_written(rows, monkeypatch, copy) == rows
        again = [order(1, status="shipped", version=2), order(2)]
        upsert(OrderView, again)
        assert list(OrderView.objects.using("read").order_by("placed_position").values()) == again


def test_values_of_other_types_are_taken_as_the_statements_take_them(monkeypatch):
    """Text for a UUID, an amount or a datetime, a number for text: what a field accepts."""
    loose = [
        order(
            3,
            order_id=str(uuid.UUID(int=3)),
            total="2.2",
            placed_at="2025-03-01T10:00:00+01:00",
            customer_id=42,
            item_count=Decimal(2),
        )
    ]
    by_statement = rows_written(loose, monkeypatch, copy=False)
    assert by_statement[0]["order_id"] == uuid.UUID(int=3)
    assert by_statement[0]["placed_at"] == AT.replace(microsecond=0)
    assert rows_written(loose, monkeypatch, copy=True) == by_statement
