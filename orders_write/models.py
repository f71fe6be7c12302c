"""Write-side rows besides the events: idempotent outcomes, order snapshots, the command inbox."""

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


# The statuses of an inbox entry, in the order it goes through them.
COMMAND_STATUSES = ["queued", "running", "succeeded", "failed"]


class InboxCommand(models.Model):
    """A command accepted for later (`Prefer: respond-async`), and its outcome once it ran.

    Stored in the request's transaction; run by a worker, which takes the entry with a
    conditional UPDATE (queued to running, or a running entry whose lease ran out) and
    stores the outcome in the transaction of the command's events, fenced by `attempts`:
    a runner whose lease was taken over commits nothing. Personal arguments are sealed
    under the customer's data key, as in the event log, so a forget shreds them too.
    """

    QUEUED, RUNNING, SUCCEEDED, FAILED = COMMAND_STATUSES
    STATUSES = [(s, s) for s in COMMAND_STATUSES]

    command_id = models.UUIDField(primary_key=True)
    command_type = models.CharField(max_length=64)
    arguments = models.JSONField()  # the command's fields; personal ones sealed
    sender_id = models.CharField(max_length=150)  # the user's pk: who may see the status
    sender = models.CharField(max_length=150)  # the username: the command's actor
    sender_is_staff = models.BooleanField(default=False)
    correlation_id = models.CharField(max_length=255)
    # The Idempotency-Key the command came with ("" for none), as IdempotencyRecord keeps it.
    idempotency_scope = models.CharField(max_length=150, blank=True, default="")
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED)
    result = models.JSONField(null=True, blank=True)  # the synchronous success body
    problem = models.JSONField(null=True, blank=True)  # the synchronous problem document
    attempts = models.PositiveIntegerField(default=0)  # takes so far: the fencing token
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField()  # when a task for it was last sent (the sweep resends)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="inbox_idempotency_scope_key",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "sent_at"], name="inbox_status_sent"),
            models.Index(fields=["finished_at"], name="inbox_finished"),
        ]

    def __str__(self) -> str:
        return f"{self.command_type} {self.command_id} ({self.status})"
