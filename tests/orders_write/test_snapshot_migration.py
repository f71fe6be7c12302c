"""Migration 0003 deletes the order snapshots that held shipping addresses (format 1)."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True, databases=["default"])

BEFORE = ("orders_write", "0002_order_snapshot")
AFTER = ("orders_write", "0003_drop_snapshots_with_addresses")


def migrate(target: tuple[str, str]) -> MigrationExecutor:
    executor = MigrationExecutor(connections["default"])
    executor.migrate([target])
    return executor


def test_snapshots_of_format_1_are_deleted_and_later_ones_kept():
    executor = migrate(BEFORE)
    try:
        snapshots = executor.loader.project_state(BEFORE).apps.get_model(
            *BEFORE[:1], "OrderSnapshot"
        )
        state = {"customer_id": "alice", "shipping_address": {"name": "Ada MARKER"}}
        made = {
            format_: snapshots.objects.create(
                stream_id=uuid4(),
                version=100,
                state=state,
                schema_versions={},
                schema_stamp="s",
                format=format_,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            ).stream_id
            for format_ in (1, 2)
        }
    finally:
        executor = migrate(AFTER)
        MigrationExecutor(connections["default"]).migrate(
            executor.loader.graph.leaf_nodes("orders_write")
        )
    left = executor.loader.project_state(AFTER).apps.get_model(*AFTER[:1], "OrderSnapshot")
    assert list(left.objects.values_list("stream_id", flat=True)) == [made[2]]
