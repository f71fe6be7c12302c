"""Row-key locks for projectors whose rows several partitions' runners change at once.

Runners of different partitions of one projection may change the same read-model row
(a customer's summary, a SKU's sales, a day's takings: many streams add to each), and a
projector reads a row, changes it in memory and writes it back: two such runners would
lose one's update. So each such batch first takes a transaction-scoped PostgreSQL
advisory lock per row key it will change, in one order every runner shares (by kind,
then by lock id), which rules out deadlocks; the rows are read after the locks are
held, so they include every update committed before.
"""

import hashlib
from collections.abc import Hashable, Iterable

from django.db import connections

READ_DB = "read"


def lock_id(label: str, kind: str, key: Hashable) -> int:
    """Return the advisory lock id of one key of a projection (a signed 64-bit integer)."""
    digest = hashlib.blake2b(f"{label}\0{kind}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def keys_lock(label: str, kind: str, keys: Iterable[Hashable]) -> None:
    """Hold a lock on each key until the transaction ends (SQLite: its writers take turns)."""
    connection = connections[READ_DB]
    if connection.vendor != "postgresql":
        return
    ids = sorted({lock_id(label, kind, key) for key in keys})
    if not ids:
        return
    with connection.cursor() as cursor:
        # unnest yields the ids in the array's order: the locks are taken in that order.
        cursor.execute("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) k", [ids])
