"""Checkpoints: how far each projection's live read model has got, locked and moved.

A checkpoint moves in the read-DB transaction that writes the rows it accounts for, by
compare-and-set from where its runner read it: a runner whose checkpoint moved under it
(`StaleCheckpoint`) rolls its work back.
"""

from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from . import partitions
from .models import Checkpoint

READ_DB = "read"


class StaleCheckpoint(Exception):
    """The checkpoint moved under a runner: its work is stale and was rolled back."""


def checkpoint_keys() -> dict[str, tuple[int, int]]:
    """Return {projection: feed key} of the projections that have a live read model (a
    partitioned one's: its lowest partition's)."""
    return partitions.projection_keys()


def checkpoint_lock(name: str, *, create: bool = True) -> Checkpoint | None:
    """Lock the checkpoint row until the transaction ends: one runner per projection.

    On PostgreSQL a second runner waits here, then reads the advanced position; on
    SQLite the read DB's IMMEDIATE transactions already serialise runners.
    """
    query = Checkpoint.objects.using(READ_DB)
    if connections[READ_DB].features.has_select_for_update:
        query = query.select_for_update()
    found = query.filter(name=name).first()
    if found is None and create:
        raise StaleCheckpoint(f"Projection {name} has no checkpoint any more.")
    return found


def checkpoint_create(name: str, key: tuple[int, int]) -> None:
    """Record that the projection's live read model has reached the feed key (a build's end)."""
    try:
        with transaction.atomic(using=READ_DB):
            Checkpoint.objects.using(READ_DB).create(
                name=name, tx_id=key[0], position=key[1], updated_at=timezone.now()
            )
    except IntegrityError:
        raise StaleCheckpoint(f"Projection {name} got a checkpoint meanwhile.") from None


def checkpoint_advance(checkpoint: Checkpoint, key: tuple[int, int]) -> None:
    """Move the checkpoint to a feed key from where this runner read it (compare-and-set)."""
    moved = (
        Checkpoint.objects.using(READ_DB)
        .filter(name=checkpoint.name, tx_id=checkpoint.tx_id, position=checkpoint.position)
        .update(tx_id=key[0], position=key[1], updated_at=timezone.now())
    )
    if moved != 1:
        raise StaleCheckpoint(f"Checkpoint {checkpoint.name} moved from {checkpoint.position}.")
    checkpoint.tx_id, checkpoint.position = key
