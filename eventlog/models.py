"""The Event row: append-only, ordered per stream by version and globally by position."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete a recorded event."""


class EventQuerySet(models.QuerySet):
    """A queryset that refuses bulk changes: the log is append-only."""

    def update(self, **kwargs):
        raise AppendOnlyError("Events are append-only: they cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Events are append-only: they cannot be deleted.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("Events are append-only: they cannot be updated.")

    def update_or_create(self, *args, **kwargs):
        raise AppendOnlyError("Events are append-only: they cannot be updated.")


class Event(models.Model):
    """One recorded event of one stream."""

    position = models.BigAutoField(primary_key=True)
    stream_type = models.CharField(max_length=64)
    stream_id = models.UUIDField()
    version = models.PositiveIntegerField()
    type = models.CharField(max_length=128)
    data = models.JSONField(encoder=DjangoJSONEncoder)
    metadata = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    recorded_at = models.DateTimeField()
    # The shape `data` was written in; readers upcast older shapes (DESIGN §10). The
    # database default keeps rows written before the column, and raw inserts, at 1.
    schema_version = models.PositiveSmallIntegerField(default=1, db_default=1)
    # The id of the transaction that recorded it (PostgreSQL's pg_current_xact_id(), set by
    # the column's default; 0 on SQLite and for events recorded before the column): the
    # projections' feed runs in (tx_id, position) order (eventlog.recorders.postgresql).
    tx_id = models.BigIntegerField(db_default=0)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["stream_id", "version"], name="event_stream_version"),
        ]
        indexes = [
            models.Index(fields=["type"]),
            models.Index(fields=["recorded_at"]),
            models.Index(fields=["tx_id", "position"], name="event_feed"),
        ]

    def __str__(self) -> str:
        return f"#{self.position} {self.type} {self.stream_type}/{self.stream_id} v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Events are append-only: they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Events are append-only: they cannot be deleted.")


class DataKey(models.Model):
    """One owner's data key (a customer's), wrapped by the master key: mutable, unlike events.

    Forgetting the owner destroys the key: `wrapped` becomes NULL and `forgotten_at` is
    set, and the row stays as the record that they were forgotten (an owner forgotten
    before any key was made gets such a row too). Every event sealed under the key then
    reads as redacted, and the log itself is never touched.
    """

    key_id = models.UUIDField(primary_key=True)
    owner = models.CharField(max_length=255, unique=True)
    wrapped = models.BinaryField(null=True)
    # Which master key wrapped it (a fingerprint), so a wrong ORDINAL_MASTER_KEY is named.
    master_key_id = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField()
    forgotten_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [("view_personal_data", "Can view personal data in events")]

    def __str__(self) -> str:
        state = "forgotten" if self.forgotten_at else "live"
        return f"data key of {self.owner} ({state})"
