"""Write-side rows besides the events: idempotent outcomes and order snapshots."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyRecord(models.Model):
    """The first outcome of a request sent with an Idempotency-Key.

    Saved in the same transaction as the command's events, so a retry either finds
    both or neither.
    """

    scope = models.CharField(max_length=150)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    outcome = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}: {self.key}"


class OrderSnapshot(models.Model):
    """The newest snapshot of one order's state: a cache of folding its stream, never the truth.

    One row per order (the stream id is the key): loading needs only the newest, and a
    snapshot built from older schema versions is no better than none. Rows are replaced
    in place, so this table is mutable, unlike the log; deleting every row changes no
    answer (`manage.py snapshots --purge`).
    """

    stream_id = models.UUIDField(primary_key=True)
    version = models.PositiveIntegerField()  # the stream version the state is at
    state = models.JSONField(encoder=DjangoJSONEncoder)
    # `schema_versions()` when the state was built, and a hash of it that SQL can compare.
    schema_versions = models.JSONField()
    schema_stamp = models.CharField(max_length=64)
    format = models.PositiveSmallIntegerField()  # Order.SNAPSHOT_FORMAT of the state
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"order {self.stream_id} at v{self.version}"
