"""Partitioned projections: a projection's streams split by a hash, each part leased alone.

With ORDINAL_PROJECTION_PARTITIONS = n > 1, each projection has n PartitionCheckpoint
rows beside its Checkpoint. A runner leases one partition by locking its row (another
runner passes it over: SKIP LOCKED), reads the feed after the partition's key, applies
the events of the partition's streams and moves the key past everything it read. The
runners of one projection share a lock on its Checkpoint row; what needs the projection
whole (a change of n, retrying parked streams, the end of a rebuild or verify) locks it
for itself (`checkpoints.checkpoint_lock`) and so waits for them and keeps them out.

Per-stream order holds because a stream lives in one partition. Read models that several
streams add to stay exact because each batch locks the keys of the rows it changes
(`orders_read.projectors.locks`) before reading them.
"""

from collections.abc import Sequence
from uuid import UUID

from django.conf import settings
from django.db import connections
from django.utils import timezone

from eventlog import store

from .models import Checkpoint, PartitionCheckpoint

READ_DB = "read"
Key = tuple[int, int]


def partition_count() -> int:
    """Return how many partitions every projection is split into (the setting)."""
    return settings.ORDINAL_PROJECTION_PARTITIONS


def partition_of(stream_id: UUID, count: int) -> int:
    """Return the partition of a stream among `count` (`eventlog.store.stream_partition`)."""
    return store.stream_partition(stream_id, count)


def partitions_get(name: str, *, using: str = READ_DB) -> list[PartitionCheckpoint]:
    """Return the projection's partition rows, in partition order (none: not partitioned)."""
    found = PartitionCheckpoint.objects.using(using).filter(projection=name)
    return list(found.order_by("partition"))


def layout_matches(name: str, count: int) -> bool:
    """Tell whether the projection is split into `count` partitions (1: not split)."""
    found = PartitionCheckpoint.objects.using(READ_DB).filter(projection=name)
    layout = sorted(found.values_list("partition", "partitions"))
    expected = [(p, count) for p in range(count)] if count > 1 else []
    return layout == expected


def partitions_reset(name: str, checkpoint: Checkpoint, count: int) -> None:
    """Split the projection into `count` partitions at its checkpoint's key (1: unsplit).

    Under the caller's exclusive lock on the checkpoint, after `runner.partitions_align`
    brought any old partitions to that key.
    """
    rows = PartitionCheckpoint.objects.using(READ_DB)
    rows.filter(projection=name).delete()
    if count > 1:
        now = timezone.now()
        tx_id, position = checkpoint.key
        rows.bulk_create(
            PartitionCheckpoint(
                projection=name,
                partition=p,
                partitions=count,
                tx_id=tx_id,
                position=position,
                updated_at=now,
            )
            for p in range(count)
        )


def projection_keys(*, using: str = READ_DB) -> dict[str, Key]:
    """Return {projection: feed key} of the projections that have a live read model.

    A partitioned projection has applied the feed up to its lowest partition's key.
    """
    keys = {
        name: (tx_id, position)
        for name, tx_id, position in Checkpoint.objects.using(using).values_list(
            "name", "tx_id", "position"
        )
    }
    found = PartitionCheckpoint.objects.using(using).values_list("projection", "tx_id", "position")
    lowest: dict[str, Key] = {}
    for name, tx_id, position in found:
        lowest[name] = min(lowest.get(name, (tx_id, position)), (tx_id, position))
    return {name: lowest.get(name, key) for name, key in keys.items()}


def checkpoint_share(name: str) -> bool:
    """Share the lock on the projection's checkpoint row (one of its partitions' runners).

    Return False if the projection has no checkpoint (any more). SQLite's IMMEDIATE
    transactions already serialise the read database's writers.
    """
    query = Checkpoint.objects.using(READ_DB).filter(name=name)
    connection = connections[READ_DB]
    if connection.vendor != "postgresql":
        return query.exists()
    sql, params = query.values("name").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} FOR SHARE", params)
        return cursor.fetchone() is not None


def partition_lease(name: str, partition: int, count: int) -> PartitionCheckpoint | None:
    """Lock the partition's row until the transaction ends; None if another runner holds
    it (or the projection is split otherwise now)."""
    query = PartitionCheckpoint.objects.using(READ_DB)
    if connections[READ_DB].features.has_select_for_update_skip_locked:
        query = query.select_for_update(skip_locked=True)
    return query.filter(projection=name, partition=partition, partitions=count).first()


def partition_advance(row: PartitionCheckpoint, key: Key) -> None:
    """Move the leased partition's key (it is locked: nobody else moves it)."""
    PartitionCheckpoint.objects.using(READ_DB).filter(pk=row.pk).update(
        tx_id=key[0], position=key[1], updated_at=timezone.now()
    )
    row.tx_id, row.position = key


def stream_keys(name: str, stream_ids: Sequence[UUID], checkpoint: Checkpoint) -> dict[UUID, Key]:
    """Return how far the projection has applied each stream: its partition's key."""
    rows = partitions_get(name)
    if not rows:
        return {stream_id: checkpoint.key for stream_id in stream_ids}
    count = rows[0].partitions
    return {s: rows[partition_of(s, count)].key for s in stream_ids}
