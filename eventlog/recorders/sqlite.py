"""The SQLite recorder: the embedded default."""

from django.utils import timezone

from ..models import Event
from .base import ROW_FIELDS, RecordedEvent, Recorder


class SQLiteRecorder(Recorder):
    """Record events in a SQLite file.

    The settings open every transaction IMMEDIATE, which takes SQLite's single write
    lock at BEGIN: that lock is the append lock, held until COMMIT.
    """

    def _clock(self, connection, table: str) -> tuple[str, list]:
        # Called inside the append's transaction, whose BEGIN IMMEDIATE holds the write
        # lock: no other append can commit between this instant and ours. Stored as
        # UTC text, which sorts as the instants do; MAX keeps it past a clock step back,
        # so here `recorded_at` never decreases as the position grows.
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        return f"(SELECT MAX(%s, COALESCE(MAX(recorded_at), '')) FROM {table})", [now]

    def _insert(self, cursor, sql: str, params: list) -> list[tuple]:
        cursor.execute(sql, params)
        return cursor.fetchall()

    def read_all(
        self, after_position: int = 0, limit: int = 1000, *, metadata: bool = True
    ) -> list[RecordedEvent]:
        rows = (
            Event.objects.using(self.alias)
            .filter(position__gt=after_position)
            .order_by("position")
            .values_list(*ROW_FIELDS)[:limit]
        )
        if metadata:
            return [RecordedEvent._make(row) for row in rows]
        return [RecordedEvent(*row[:6], None, *row[7:]) for row in rows]

    def read_feed(
        self, after: tuple[int, int] = (0, 0), limit: int = 1000, *, metadata: bool = False
    ) -> list[RecordedEvent]:
        # Writers are serialised (IMMEDIATE): positions commit in order, every tx_id is 0,
        # and the feed is the log in position order.
        return self.read_all(after[1], limit, metadata=metadata)

    def read_keys(
        self, after: tuple[int, int], upto: tuple[int, int], limit: int = 1000
    ) -> list[RecordedEvent]:
        found = self.read_all(after[1], limit, metadata=False)
        return [e for e in found if e.position <= upto[1]]

    def horizon_holder(self) -> dict | None:
        """Return None: SQLite's writers take turns, no transaction holds the feed back."""
        return None
