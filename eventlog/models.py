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

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["stream_id", "version"], name="event_stream_version"),
        ]
        indexes = [models.Index(fields=["type"]), models.Index(fields=["recorded_at"])]

    def __str__(self) -> str:
        return f"#{self.position} {self.type} {self.stream_type}/{self.stream_id} v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Events are append-only: they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Events are append-only: they cannot be deleted.")
