"""Load the real schema-v1 rows of tests/fixtures/events_v1/ into the log by raw INSERT.

The recorder is bypassed on purpose: the rows go in as an older release wrote them,
without a `schema_version` (the column's database default makes them v1).
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.color import no_style
from django.db import connections, transaction

from eventlog.models import Event

FIXTURES = Path(__file__).parent / "fixtures" / "events_v1"
COLUMNS = ("position", "stream_type", "stream_id", "version", "type", "data", "metadata")
COLUMNS += ("recorded_at",)


def v1_rows(name: str = "orders.json") -> list[dict[str, Any]]:
    """Return the fixture's rows as stored (JSON-decoded, nothing else)."""
    rows: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text())
    return rows


def v1_load(name: str = "orders.json", alias: str = "default") -> list[dict[str, Any]]:
    """INSERT the fixture's rows into the event table as they are; return the rows."""
    rows = v1_rows(name)
    connection = connections[alias]
    fields = [Event._meta.get_field(column) for column in COLUMNS]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(Event._meta.db_table)} ({', '.join(map(quote, COLUMNS))}) "
        f"VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    )
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        for row in rows:
            # Each column in the database's own representation (UUIDs as hex on SQLite...).
            values = [
                field.get_db_prep_save(field.to_python(row[field.name]), connection)
                if field.name not in ("data", "metadata")
                else field.get_db_prep_save(row[field.name], connection)
                for field in fields
            ]
            cursor.execute(sql, values)
        # Explicit positions do not move PostgreSQL's sequence: later appends must follow on.
        for statement in connection.ops.sequence_reset_sql(no_style(), [Event]):
            cursor.execute(statement)
    return rows
