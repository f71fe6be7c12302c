"""The schema_version migration: rows from before it read as v1, and nothing is rewritten.

On PostgreSQL the log's trigger refuses any UPDATE, so this also proves the migration
adds the column without updating a row (ADD COLUMN ... DEFAULT fires no row trigger).
"""

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from eventlog.models import Event
from tests.old_events import v1_load

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "read"])

BEFORE = ("eventlog", "0003_refuse_truncate")


def migrate(*targets: tuple[str, str]) -> None:
    executor = MigrationExecutor(connections["default"])  # a fresh graph and state each time
    executor.migrate(list(targets) or executor.loader.graph.leaf_nodes("eventlog"))


def test_rows_written_before_the_column_get_version_one_and_keep_their_data():
    migrate(BEFORE)
    try:
        rows = v1_load()  # as the old release wrote them: no schema_version column yet
    finally:
        migrate()
    stored = list(Event.objects.order_by("position").values())
    assert [row["schema_version"] for row in stored] == [1] * len(rows)
    assert [(row["position"], row["data"], row["metadata"]) for row in stored] == [
        (row["position"], row["data"], row["metadata"]) for row in rows
    ]


def test_a_raw_insert_that_names_no_schema_version_gets_one():
    v1_load()  # the migrated table: the database default, not Django's, fills it in
    assert set(Event.objects.values_list("schema_version", flat=True)) == {1}
