"""The read-model migration maps addresses projected before OrderPlaced v2, as a rebuild would."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from orders_read.models import OrderView
from orders_write.domain.address import address_from_free_form

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "read"])

STRUCTURED = {
    "name": "",
    "line1": "Karl Johans gate 1",
    "line2": "",
    "city": "Oslo",
    "postal_code": "",
    "country": "NO",
}


def migrate(target: tuple[str, str] | None = None) -> None:
    executor = MigrationExecutor(connections["read"])
    executor.migrate([target] if target else executor.loader.graph.leaf_nodes("orders_read"))


def view(position: int, address: dict) -> OrderView:
    """Write an order row as migration 0001 shaped the table (later ones added columns)."""
    state = MigrationExecutor(connections["read"]).loader.project_state(
        ("orders_read", "0001_initial")
    )
    at = datetime(2025, 1, 1, tzinfo=UTC)
    return (
        state.apps.get_model("orders_read", "OrderView")
        .objects.using("read")
        .create(
            order_id=uuid4(),
            customer_id="alice",
            status="placed",
            currency="EUR",
            total="1.00",
            shipping_address=address,
            placed_at=at,
            placed_position=position,
            updated_at=at,
            version=1,
        )
    )


def test_free_form_addresses_become_structured_and_the_rest_stay():
    migrate(("orders_read", "0001_initial"))
    try:
        free = {"street": "1 Main St", "city": "Oslo"}
        rows = [view(1, free), view(2, {"city": "Lyon"}), view(3, {}), view(4, STRUCTURED)]
    finally:
        migrate()
    after = {v.order_id: v.shipping_address for v in OrderView.objects.using("read").all()}
    assert [after[row.order_id] for row in rows] == [
        address_from_free_form(free),
        address_from_free_form({"city": "Lyon"}),
        {},
        STRUCTURED,
    ]
