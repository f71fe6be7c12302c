"""Where order snapshots are kept: a mutable table on the write database, or memory for tests.

A store only keeps and returns snapshots; whether one may be used (its schema versions
and format) is decided by the repository that loads orders, in one place for both.
"""

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any, Protocol
from uuid import UUID

from django.db import connections
from django.utils import timezone

from eventlog.store import WRITE_DB

from .models import OrderSnapshot


@dataclass(frozen=True)
class StoredSnapshot:
    """An order's state at a stream version, stamped with what it was built from."""

    stream_id: UUID
    version: int
    state: Any  # what Order.snapshot() returned, as JSON gives it back (or anything, if damaged)
    schema_versions: Any  # events.schema_versions() when it was built
    format: int  # Order.SNAPSHOT_FORMAT when it was built


@dataclass(frozen=True)
class Summary:
    """How many snapshots are stored, and how many of them the current code can use."""

    total: int
    current: int

    @property
    def stale(self) -> int:
        return self.total - self.current


class SnapshotStore(Protocol):
    """What the order repository needs of a snapshot store."""

    def get(self, stream_id: UUID) -> StoredSnapshot | None:
        """Return the stream's snapshot, or None."""
        ...

    def save(self, snapshot: StoredSnapshot) -> None:
        """Keep the snapshot unless the stored one must win (see `replaces`)."""
        ...


def schema_stamp(schema_versions: Any) -> str:
    """Return a stable hash of a schema-versions mapping (what SQL compares)."""
    canonical = json.dumps(schema_versions, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def replaces(stored: StoredSnapshot, new: StoredSnapshot) -> bool:
    """Say whether `new` may overwrite `stored`: it is newer, or stored was built otherwise.

    A snapshot only moves forward, so a late writer can never put back an older state;
    one built from other schema versions or another format is useless here and goes.
    """
    return (
        stored.version < new.version
        or stored.schema_versions != new.schema_versions
        or stored.format != new.format
    )


class DatabaseSnapshots:
    """Snapshots in the `OrderSnapshot` table of the write database, one row per order."""

    def __init__(self, alias: str = WRITE_DB) -> None:
        self.alias = alias

    def get(self, stream_id: UUID) -> StoredSnapshot | None:
        """Return the stream's snapshot, or None."""
        row = (
            OrderSnapshot.objects.using(self.alias)
            .filter(stream_id=stream_id)
            .values_list("version", "state", "schema_versions", "format")
            .first()
        )
        return None if row is None else StoredSnapshot(stream_id, *row)

    def save(self, snapshot: StoredSnapshot) -> None:
        """Upsert the row, in the caller's transaction, only if it `replaces` the stored one.

        One statement, so two writers of one order cannot interleave a read and a write;
        its WHERE is `replaces` in SQL (the stamp stands for the schema versions).
        """
        connection = connections[self.alias]
        meta = OrderSnapshot._meta
        row = {
            "stream_id": snapshot.stream_id,
            "version": snapshot.version,
            "state": snapshot.state,
            "schema_versions": snapshot.schema_versions,
            "schema_stamp": schema_stamp(snapshot.schema_versions),
            "format": snapshot.format,
            "created_at": timezone.now(),
        }
        fields = [meta.get_field(name) for name in row]
        params = [
            f.get_db_prep_save(v, connection) for f, v in zip(fields, row.values(), strict=True)
        ]
        quote = connection.ops.quote_name
        table, columns = quote(meta.db_table), [quote(f.column) for f in fields]
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
        version, stamp, fmt = quote("version"), quote("schema_stamp"), quote("format")
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))}) "
            f"ON CONFLICT ({columns[0]}) DO UPDATE SET {updates} "
            f"WHERE {table}.{version} < excluded.{version} "
            f"OR {table}.{stamp} <> excluded.{stamp} OR {table}.{fmt} <> excluded.{fmt}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    def summary(self, schema_versions: Any, snapshot_format: int) -> Summary:
        """Count the snapshots, and those built from these schema versions and format."""
        rows = OrderSnapshot.objects.using(self.alias)
        current = rows.filter(schema_stamp=schema_stamp(schema_versions), format=snapshot_format)
        return Summary(total=rows.count(), current=current.count())

    def purge(self) -> int:
        """Delete every snapshot; return how many there were."""
        deleted, _ = OrderSnapshot.objects.using(self.alias).all().delete()
        return deleted


class InMemorySnapshots:
    """Snapshots in a dict, with the table's rules (move forward, state through JSON)."""

    def __init__(self) -> None:
        self.rows: dict[UUID, StoredSnapshot] = {}

    def get(self, stream_id: UUID) -> StoredSnapshot | None:
        """Return the stream's snapshot, or None."""
        return self.rows.get(stream_id)

    def save(self, snapshot: StoredSnapshot) -> None:
        """Keep the snapshot if it `replaces` the stored one (or there is none)."""
        stored = self.rows.get(snapshot.stream_id)
        if stored is None or replaces(stored, snapshot):
            self.rows[snapshot.stream_id] = replace(
                snapshot,
                state=json.loads(json.dumps(snapshot.state)),
                schema_versions=dict(snapshot.schema_versions),
            )
